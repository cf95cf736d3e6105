package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestDialogsReturnActions: a dialog answers a key with an action message and changes
// nothing but itself; the root applies the action.
func TestDialogsReturnActions(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("f")
	d := f.m.dialogs[len(f.m.dialogs)-1]
	done, act := d.update(f.m.km, keyPress("F"))
	if !done || act != (showStateMsg{state: "FAILED"}) {
		t.Fatalf("F in the status menu: done %v, action %#v", done, act)
	}
	if f.m.src != sourceAll {
		t.Fatal("the menu changed the model before the root handled its action")
	}

	p := newPromptDialog("t", "", "", func(v string) tea.Msg { return stateSubmittedMsg{state: v} })
	p.paste(" RETRYING ")
	if done, act := p.update(f.m.km, keyPress("enter")); !done || act != (stateSubmittedMsg{state: " RETRYING "}) {
		t.Fatalf("prompt: done %v, action %#v", done, act)
	}

	c := &confirmDialog{yes: saveRequestedMsg{path: "x", overwrite: true}}
	if done, act := c.update(f.m.km, keyPress("n")); !done || act != nil {
		t.Fatalf("n: done %v, action %#v", done, act)
	}
	if _, act := c.update(f.m.km, keyPress("y")); act != (saveRequestedMsg{path: "x", overwrite: true}) {
		t.Fatalf("y: action %#v", act)
	}

	// The root handles an action message delivered as any other message.
	f.send(showStateMsg{state: "FAILED"})
	if f.m.src != sourceStatus || f.m.stateFilter != "FAILED" {
		t.Fatalf("after showStateMsg: source %v, state %q", f.m.src, f.m.stateFilter)
	}
}
