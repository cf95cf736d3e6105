package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// Action messages: what a dialog asks of the model once it has handled a key. A dialog
// changes only its own fields; the root handles these (onDialogAction), as crush's dialog
// overlay does, so every change to the model is made in one place.
type (
	showAllMsg        struct{}               // the bucket listing
	showStateMsg      struct{ state string } // the requests in one state, from the status table
	showLostMsg       struct{}               // the LOST check
	askStateMsg       struct{}               // open the prompt for a state typed by hand
	stateSubmittedMsg struct{ state string } // the state typed in that prompt, untrimmed
	copyMsg           struct{ what, value string }
	saveRequestedMsg  struct {
		path      string
		overwrite bool // confirmed over an existing file
	}
	switchEnvMsg       struct{ name string }
	toggleColumnMsg    struct{ col column }  // hide a shown column, show a hidden one
	windowSubmittedMsg struct{ text string } // a time window typed at T, untrimmed
	// noteMsg puts a line in the status line.
	noteMsg struct {
		level noteLevel
		text  string
	}

	// The redrive dialog's actions; s is the redrive they act on.
	redriveClosedMsg    struct{ s *redriveState } // closed before it ran: audit the decision
	redriveReplanMsg    struct{ s *redriveState } // plan again (mode changed, or r after a failure)
	redriveConfirmedMsg struct{ s *redriveState } // y, or the environment's name typed
	redriveRateMsg      struct {
		s      *redriveState
		faster bool
	}
	redriveConcurrencyMsg struct {
		s    *redriveState
		more bool
	}
	redriveCancelMsg        struct{}
	redriveSummaryClosedMsg struct{}
)

// onDialogAction applies an action message; ok is false for any other message.
func (m *Model) onDialogAction(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case showAllMsg:
		return m.showAll(), true
	case showStateMsg:
		return m.startStateFilter(msg.state), true
	case showLostMsg:
		return m.startLost(), true
	case askStateMsg:
		m.openStatePrompt()
		return nil, true
	case stateSubmittedMsg:
		state := strings.TrimSpace(msg.state)
		if state == "" {
			m.setNote(noteWarn, "no state given: the view is unchanged")
			return nil, true
		}
		return m.startStateFilter(state), true
	case copyMsg:
		return m.copy(msg.what, msg.value), true
	case saveRequestedMsg:
		return m.save(msg.path, msg.overwrite), true
	case switchEnvMsg:
		return m.switchEnv(msg.name), true
	case toggleColumnMsg:
		m.cols.hidden[msg.col] = !m.cols.hidden[msg.col]
		return nil, true
	case noteMsg:
		m.setNote(msg.level, msg.text)
		return nil, true
	case windowSubmittedMsg:
		return m.onWindowSubmitted(msg.text), true

	case redriveClosedMsg:
		return m.closeRedrive(msg.s), true
	case redriveReplanMsg:
		return m.plan(msg.s), true
	case redriveConfirmedMsg:
		m.clearHintsForRun()
		return m.confirmRedrive(msg.s), true
	case redriveRateMsg:
		return m.changeRate(msg.s, msg.faster), true
	case redriveConcurrencyMsg:
		return m.changeConcurrency(msg.s, msg.more), true
	case redriveCancelMsg:
		return m.cancelRedrive(), true
	case batchStopStartMsg:
		return m.stopBatchStart(msg.s, msg.quit), true
	case redriveSummaryClosedMsg:
		if m.watch.active() {
			m.setNote(noteInfo, "watching the redriven requests: the table updates as their statuses change")
		}
		return nil, true
	}
	return nil, false
}
