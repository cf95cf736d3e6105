package tui

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// demoStack starts a seeded devstack for the flows of one test.
func demoStack(t *testing.T) (*devstack.Stack, Session) {
	t.Helper()
	if testing.Short() {
		t.Skip("devstack flows are not short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, devstack.Options{Seed: 7, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("devstack: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Settle(ctx); err != nil {
		t.Fatalf("settle: %v", err)
	}
	env := st.Config().Environments[devstack.EnvName]
	env.Name = devstack.EnvName
	env.ApplyDefaults()
	return st, openSession(t, st, env)
}

// openSession opens env's clients as the CLI does, redrive included.
func openSession(t *testing.T, st *devstack.Stack, env *config.Env) Session {
	t.Helper()
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(st.AccessKey, st.SecretKey))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	sess := Session{Env: env, Objects: c.Objects, Statuses: c.Statuses, Operator: "demo",
		Redrive: RedriveDeps{Plan: redrive.PlanDepsFor(c, env), Run: redrive.DepsFor(c), Batch: redrive.BatchDepsFor(c)}}
	if c.Logs != nil {
		sess.Logs = c.Logs
	}
	return sess
}

// flow runs the TUI in a teatest program over sess. Its probe keeps the latest frame:
// the program's filter sees the model before each message, and a probe message is sent
// every few milliseconds so the frame seen is never more than one tick old.
type flow struct {
	t     *testing.T
	tm    *teatest.TestModel
	mu    sync.Mutex
	frame string
	stop  chan struct{}
}

type probeMsg struct{}

func startFlow(t *testing.T, sess Session, mutate ...func(*Options)) *flow {
	t.Helper()
	dark := true
	opts := Options{Session: sess, Now: func() time.Time { return testNow }, Dark: &dark, PageSize: 100}
	for _, mu := range mutate {
		mu(&opts)
	}
	fl := &flow{t: t, stop: make(chan struct{})}
	filter := func(m tea.Model, msg tea.Msg) tea.Msg {
		if mm, ok := m.(*Model); ok {
			v := mm.View().Content
			fl.mu.Lock()
			fl.frame = v
			fl.mu.Unlock()
		}
		return msg
	}
	fl.tm = teatest.NewTestModel(t, New(opts),
		teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithFilter(filter), tea.WithColorProfile(colorprofile.TrueColor)))
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-fl.stop:
				return
			case <-tick.C:
				fl.tm.Send(probeMsg{})
			}
		}
	}()
	// Drain the terminal output so the program never blocks on it.
	go io.Copy(io.Discard, fl.tm.Output())
	t.Cleanup(fl.quit)
	return fl
}

func (fl *flow) quit() {
	select {
	case <-fl.stop:
		return
	default:
	}
	close(fl.stop)
	fl.tm.Quit()
	fl.tm.WaitFinished(fl.t, teatest.WithFinalTimeout(5*time.Second))
}

// plain is the latest frame without styling.
func (fl *flow) plain() string {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return ansi.Strip(fl.frame)
}

func (fl *flow) raw() string {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.frame
}

// waitFor waits until the frame satisfies cond.
func (fl *flow) waitFor(what string, cond func(plain string) bool) {
	fl.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond(fl.plain()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fl.t.Fatalf("timed out waiting for %s; screen:\n%s", what, fl.plain())
}

func (fl *flow) waitText(s string) {
	fl.t.Helper()
	fl.waitFor(`"`+s+`"`, func(p string) bool { return strings.Contains(p, s) })
}

func (fl *flow) key(k string) { fl.tm.Send(keyPress(k)) }

func seededOf(st *devstack.Stack, kind string, state string) (devstack.SeedRequest, bool) {
	for _, r := range st.Seeded() {
		if r.Kind != kind {
			continue
		}
		s, ok := st.Status(r.Key)
		if state == "" && !ok || ok && s.State == state {
			return r, true
		}
	}
	return devstack.SeedRequest{}, false
}

func TestDevstackFlows(t *testing.T) {
	st, sess := demoStack(t)
	seeded := st.Seeded()
	total := len(seeded)
	if total == 0 {
		t.Fatal("the devstack seeded nothing")
	}

	t.Run("list", func(t *testing.T) {
		fl := startFlow(t, sess)
		fl.waitFor("the whole listing", func(p string) bool {
			return strings.Contains(p, commas(total)+" listed") && !strings.Contains(p, "paging")
		})
		// Statuses of the visible rows are joined.
		fl.waitFor("statuses in the header", func(p string) bool { return strings.Contains(p, "PROCESSED ") })
	})

	t.Run("filter", func(t *testing.T) {
		fl := startFlow(t, sess)
		want := seeded[total/2].Key
		fl.waitText(commas(total) + " listed")
		fl.key("/")
		fl.tm.Type(want[:13])
		fl.waitText("/" + want[:13] + " 1 of " + commas(total) + " match")
		fl.key("enter")
		fl.waitFor("the match selected", func(p string) bool { return strings.Contains(p, "▸  "+want) })
	})

	t.Run("filter FAILED by error text", func(t *testing.T) {
		// A word of a FAILED request's error, found in no key and no content type, so the
		// expected count follows from the errors alone.
		failed, term := 0, ""
		for _, r := range seeded {
			if s, ok := st.Status(r.Key); ok && s.State == "FAILED" {
				failed++
				if term != "" {
					continue
				}
				for _, w := range strings.FieldsFunc(strings.ToLower(s.Error), func(c rune) bool { return c < 'a' || c > 'z' }) {
					if len(w) >= 5 && !strings.Contains(strings.ToLower(r.ContentType+r.ContentEncoding+r.Key), w) {
						term = w
						break
					}
				}
			}
		}
		if term == "" {
			t.Fatal("no FAILED request with a usable word in its error")
		}
		want := 0
		for _, r := range seeded {
			if s, ok := st.Status(r.Key); ok && s.State == "FAILED" && strings.Contains(strings.ToLower(s.Error), term) {
				want++
			}
		}
		fl := startFlow(t, sess)
		fl.waitText(commas(total) + " listed")
		fl.key("f")
		fl.key("F")
		fl.waitText("view FAILED " + commas(failed))
		fl.key("/")
		fl.tm.Type(term)
		fl.key("enter")
		fl.waitText("/" + term + " " + commas(want) + " of " + commas(failed) + " match")
		fl.waitFor("the first match selected, at the top", func(p string) bool {
			return strings.Contains(p, "1/"+commas(want)) && strings.Contains(lineWith(p, "▸"), "FAILED")
		})
		// Nothing matches: the empty state names what was filtered.
		fl.key("/")
		for range len(term) {
			fl.key("backspace")
		}
		fl.tm.Type("zzz-nothing")
		fl.key("enter")
		fl.waitText("0 of " + commas(failed) + " FAILED match /zzz-nothing")
	})

	t.Run("sort by status shows the worst at the top", func(t *testing.T) {
		fl := startFlow(t, sess)
		fl.waitFor("the whole listing", func(p string) bool {
			return strings.Contains(p, commas(total)+" listed") && !strings.Contains(p, "paging")
		})
		fl.key("G") // far from the top first
		fl.waitText(commas(total) + "/" + commas(total))
		fl.key("s")
		fl.key("s")
		fl.waitText("sort status ↓")
		fl.waitFor("the first row selected, a failure", func(p string) bool {
			return strings.Contains(p, "1/"+commas(total)) && strings.Contains(lineWith(p, "▸"), "FAILED")
		})
	})

	t.Run("open a FAILED XML payload", func(t *testing.T) {
		var r devstack.SeedRequest
		ok := false
		for _, c := range seeded {
			s, found := st.Status(c.Key)
			// (KindInvalid XML is not well-formed in this devstack: see the report.)
			wellFormed := c.Kind == devstack.KindProductXML || c.Kind == devstack.KindLargeXML
			if found && s.State == "FAILED" && wellFormed && strings.Contains(c.ContentType, "xml") && c.ContentEncoding == "" {
				r, ok = c, true
				break
			}
		}
		if !ok {
			t.Fatal("the seed has no FAILED well-formed XML request")
		}
		fl := startFlow(t, sess)
		fl.key(":")
		fl.tm.Type(r.Key)
		fl.key("enter")
		fl.waitFor("the pretty XML", func(p string) bool {
			return strings.Contains(p, "XML · pretty") && strings.Contains(p, r.Key) && strings.Contains(p, "FAILED")
		})
		// Highlighted: the payload lines carry chroma's colours.
		var coloured bool
		for _, l := range strings.Split(fl.raw(), "\n") {
			if strings.Contains(ansi.Strip(l), " │ <") && strings.Count(l, "\x1b[") > 3 {
				coloured = true
			}
		}
		if !coloured {
			t.Errorf("the XML is not highlighted:\n%q", fl.raw())
		}
	})

	t.Run("jump by a pasted log line", func(t *testing.T) {
		r := seeded[total/3]
		fl := startFlow(t, sess)
		fl.tm.Send(tea.PasteMsg{Content: `{"level":"error","time":"2025-03-14T09:29:59Z","msg":"processing failed",` + "\n" +
			`"x-amzn-RequestId":"` + strings.ToUpper(r.Key) + `","route":"PUT /product"}`})
		fl.waitFor("the pasted request", func(p string) bool {
			return strings.Contains(p, "── "+r.Key) && strings.Contains(p, "stored ")
		})
	})

	t.Run("LOST view", func(t *testing.T) {
		want := 0
		for _, r := range seeded {
			if _, ok := st.Status(r.Key); !ok && testNow.Sub(r.Created) >= 15*time.Minute {
				want++
			}
		}
		fl := startFlow(t, sess)
		fl.waitText(commas(total) + " listed")
		fl.key("L")
		fl.waitText("LOST check done: " + plural(want, "LOST request"))
		if want > 0 {
			fl.waitFor("a LOST row", func(p string) bool { return strings.Contains(p, "view LOST "+commas(want)) })
		}
	})

	t.Run("escape sequences are inert", func(t *testing.T) {
		r, ok := seededOf(st, devstack.KindEscapes, "")
		if !ok {
			for _, c := range seeded {
				if c.Kind == devstack.KindEscapes {
					r, ok = c, true
					break
				}
			}
		}
		if !ok {
			t.Fatal("the seed has no escape-sequence payload")
		}
		fl := startFlow(t, sess)
		fl.key(":")
		fl.tm.Type(r.Key)
		fl.key("enter")
		fl.waitFor("the hostile payload", func(p string) bool { return strings.Contains(p, "── "+r.Key) && strings.Contains(p, "␛") })
		fl.quit()
		final := fl.tm.FinalModel(t).View().Content
		assertInert(t, final)
		if !strings.Contains(final, "␛[") {
			t.Errorf("the escape sequences are not shown visibly:\n%s", ansi.Strip(final))
		}
	})
}
