package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals stop a redrive: the first stops sending, the second cuts what is in flight.
// SIGHUP (the terminal closed) counts like SIGTERM.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), stopSignals...)
}

// notifyStop delivers the next stop signal on the returned channel until stop is called.
func notifyStop() (<-chan os.Signal, func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, stopSignals...)
	return sig, func() { signal.Stop(sig) }
}
