package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
)

// defaultPager is what git and gh use: less, passing colour through.
const defaultPager = "less -R"

// pagerCommand is the pager to run, split into words: STOWAGE_PAGER, else PAGER, else
// less -R. nil means none: either variable set but empty, or "cat".
func pagerCommand(getenv func(string) (string, bool)) []string {
	cmd, ok := getenv("STOWAGE_PAGER")
	if !ok {
		cmd, ok = getenv("PAGER")
	}
	if !ok {
		cmd = defaultPager
	}
	words := strings.Fields(cmd)
	if len(words) == 0 || words[0] == "cat" && len(words) == 1 {
		return nil
	}
	return words
}

// terminalRows is w's height in rows, or 0 when unknown. A writer that reports its own
// height (a test's fake terminal) is believed: seams has no height yet.
func (g *Globals) terminalRows(w io.Writer) int {
	if r, ok := w.(interface{ TerminalRows() int }); ok {
		return r.TerminalRows()
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return 0
	}
	_, rows, err := term.GetSize(f.Fd())
	if err != nil {
		return 0
	}
	return rows
}

// tallerThan reports whether lines, wrapped at width cells, fill more than rows rows
// (the last row is the shell's prompt). It stops counting as soon as they do, so a
// huge payload costs no more than a screenful.
func tallerThan(lines int, line func(int) int, width, rows int) bool {
	if lines >= rows {
		return true
	}
	used := 0
	for i := range lines {
		n := 1
		if w := line(i); width > 0 && w > width {
			n = (w + width - 1) / width
		}
		if used += n; used >= rows {
			return true
		}
	}
	return false
}

// pager is stdout for show's pretty output: the pager's stdin while one runs.
type pager struct {
	*bufio.Writer
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startPager starts the pager on g.Stdout. It returns nil when there is none to run or it
// cannot start; the caller then writes to g.Stdout itself, with nothing to report: the
// operator still sees the payload.
func (g *Globals) startPager() *pager {
	words := pagerCommand(os.LookupEnv)
	if words == nil {
		return nil
	}
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Stdout, cmd.Stderr = g.Stdout, g.Stderr
	if _, ok := os.LookupEnv("LESS"); !ok {
		// As git does: quit when it fits after all, keep colour, leave the text on screen.
		cmd.Env = append(os.Environ(), "LESS=FRX")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	return &pager{Writer: bufio.NewWriterSize(stdin, 64<<10), cmd: cmd, stdin: stdin}
}

// Close flushes what is left, ends the pager's input and waits for the operator to quit
// it. Quitting before the end closes the pipe; that is not an error.
func (p *pager) Close() error {
	err := p.Flush()
	p.stdin.Close()
	p.cmd.Wait() // its exit status is the operator's business (q, or a pager of their own)
	if err != nil && !isBrokenPipe(err) {
		return err
	}
	return nil
}

// isBrokenPipe reports whether err is a write to a pager that has quit.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}
