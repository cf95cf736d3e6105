package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the TUI answers to. It drives the help bar, the full help (?) and
// the key table in the README (HelpRows); TestKeyMapCoversEveryKey keeps code from
// matching a key any other way.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	// The payload, in the detail view (and the preview pane for the half pages).
	HalfPageUp, HalfPageDown key.Binding
	ScrollLeft, ScrollRight  key.Binding

	Open       key.Binding // open the full-screen detail of the selected request
	Back       key.Binding
	TogglePane key.Binding // side/bottom preview pane on and off; in detail: payload ↔ info

	Filter       key.Binding // incremental substring filter (list) or payload search (detail)
	NextMatch    key.Binding
	PrevMatch    key.Binding
	Jump         key.Binding
	StatusFilter key.Binding
	Lost         key.Binding
	Sort         key.Binding
	Reverse      key.Binding
	Wide         key.Binding // every column at full width
	Columns      key.Binding // hide or show a column
	Refresh      key.Binding
	AutoRefresh  key.Binding // the k9s-style refresh every env.Refresh, on and off
	Window       key.Binding // cycle the time window
	WindowRange  key.Binding // type a time window
	Classes      key.Binding // the failure classes view
	Histogram    key.Binding // the arrivals/processed/failed/lost chart

	Pretty   key.Binding
	Wrap     key.Binding
	LoadMore key.Binding
	Save     key.Binding
	Copy     key.Binding
	Pager    key.Binding
	Editor   key.Binding

	// Selection and redrive. The redrive keys act in the redrive dialog: its plan
	// (mode, force) and its progress view (rate, concurrency, cancel).
	Select          key.Binding
	SelectAll       key.Binding
	Redrive         key.Binding
	RedriveModePrev key.Binding
	RedriveModeNext key.Binding
	RedriveForce    key.Binding
	RedriveSkipPerm key.Binding // leave the permanent failures out of the plan
	RedriveFaster   key.Binding
	RedriveSlower   key.Binding
	RedriveMore     key.Binding // more requests at a time
	RedriveFewer    key.Binding
	RedriveCancel   key.Binding
	RedriveEngine   key.Binding // local or S3 Batch Operations, where batch_ops is configured

	// Dialogs and the input line.
	DialogPrev, DialogNext key.Binding
	Accept                 key.Binding // choose, submit; in a yes/no question it answers no
	DialogClose            key.Binding
	Dismiss                key.Binding // a message or a summary
	Yes, No                key.Binding

	Env       key.Binding
	Help      key.Binding
	Quit      key.Binding
	Interrupt key.Binding // from anywhere: cancels a running redrive, else quits
}

// DefaultKeyMap returns the default key bindings.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+f"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g/home", "first"),
		Bottom:   b([]string{"end", "G"}, "G/end", "last"),

		HalfPageUp:   b([]string{"ctrl+u"}, "ctrl+u", "payload page up"),
		HalfPageDown: b([]string{"ctrl+d"}, "ctrl+d", "payload page down"),
		ScrollLeft:   b([]string{"left", "h"}, "←/h", "payload left"),
		ScrollRight:  b([]string{"right", "l"}, "→/l", "payload right"),

		Open:       b([]string{"enter"}, "enter", "open"),
		Back:       b([]string{"esc"}, "esc", "back"),
		TogglePane: b([]string{"tab"}, "tab", "pane/tabs"),

		Filter:       b([]string{"/"}, "/", "filter (!not, /re/) or search"),
		NextMatch:    b([]string{"n"}, "n", "next match"),
		PrevMatch:    b([]string{"N"}, "N", "previous match"),
		Jump:         b([]string{":"}, ":", "jump (id, s3 uri, log line)"),
		StatusFilter: b([]string{"f"}, "f", "status"),
		Lost:         b([]string{"L"}, "L", "LOST"),
		Sort:         b([]string{"s"}, "s", "sort"),
		Reverse:      b([]string{"S"}, "S", "reverse sort"),
		Wide:         b([]string{"W"}, "W", "wide columns"),
		Columns:      b([]string{"C"}, "C", "hide/show columns"),
		Refresh:      b([]string{"r"}, "r", "refresh/retry"),
		AutoRefresh:  b([]string{"ctrl+r"}, "ctrl+r", "auto-refresh on/off"),
		Window:       b([]string{"t"}, "t", "time window 1h/6h/24h/7d/all"),
		WindowRange:  b([]string{"T"}, "T", "time window: type a range"),
		Classes:      b([]string{"E"}, "E", "failure classes"),
		Histogram:    b([]string{"H"}, "H", "histogram over the window"),

		Pretty:   b([]string{"p"}, "p", "pretty/raw"),
		Wrap:     b([]string{"w"}, "w", "wrap"),
		LoadMore: b([]string{"m"}, "m", "load more"),
		Save:     b([]string{"x"}, "x", "save to file"),
		Copy:     b([]string{"y"}, "y", "copy id/uri/url"),
		Pager:    b([]string{"o"}, "o", "open in $PAGER"),
		Editor:   b([]string{"O"}, "O", "open in $EDITOR"),

		Select:          b([]string{"space"}, "space", "select/unselect"),
		SelectAll:       b([]string{"a"}, "a", "select all/none"),
		Redrive:         b([]string{"R"}, "R", "redrive selection"),
		RedriveModePrev: b([]string{"left"}, "←", "redrive: previous mode"),
		RedriveModeNext: b([]string{"right"}, "→", "redrive: next mode"),
		RedriveForce:    b([]string{"!"}, "!", "redrive: force"),
		RedriveSkipPerm: b([]string{"P"}, "P", "redrive: leave out permanent failures"),
		RedriveFaster:   b([]string{"+", "="}, "+", "redrive: faster"),
		RedriveSlower:   b([]string{"-"}, "-", "redrive: slower"),
		RedriveMore:     b([]string{">"}, ">", "redrive: more in parallel"),
		RedriveFewer:    b([]string{"<"}, "<", "redrive: fewer in parallel"),
		RedriveCancel:   b([]string{"c"}, "c", "redrive: cancel"),
		RedriveEngine:   b([]string{"B"}, "B", "redrive: engine local/batch-ops"),

		DialogPrev:  b([]string{"up", "k", "shift+tab"}, "↑/shift+tab", "dialog: previous"),
		DialogNext:  b([]string{"down", "j", "tab"}, "↓/tab", "dialog: next"),
		Accept:      b([]string{"enter"}, "enter", "dialog, prompt: choose, submit"),
		DialogClose: b([]string{"esc", "q"}, "esc/q", "dialog: close"),
		Dismiss:     b([]string{"esc", "enter", "q", "space"}, "esc/enter/space", "close a message or summary"),
		Yes:         b([]string{"y"}, "y", "dialog: yes, send"),
		No:          b([]string{"n"}, "n", "dialog: no, cancel"),

		Env:       b([]string{"e"}, "e", "environment"),
		Help:      b([]string{"?"}, "?", "more keys"),
		Quit:      b([]string{"q"}, "q", "quit"),
		Interrupt: b([]string{"ctrl+c"}, "ctrl+c", "cancel a prompt or a redrive, else quit"),
	}
}

// EditKeyMap is the line editor's keys (the : and / prompts, the dialogs' text fields),
// readline-style. They act only while a field has the keys, so, as with bubbles'
// textinput, they are kept apart from KeyMap and its help.
type EditKeyMap struct {
	Left, Right, Home, End                                            key.Binding
	DeleteBack, DeleteForward, DeleteToStart, DeleteToEnd, DeleteWord key.Binding
	Space                                                             key.Binding
}

// editKeys are the line editor's keys; lineEdit values are built in many places, so
// they share this one set rather than each carrying a copy.
var editKeys = DefaultEditKeyMap()

// DefaultEditKeyMap returns the line editor's default keys.
func DefaultEditKeyMap() EditKeyMap {
	b := func(keys ...string) key.Binding { return key.NewBinding(key.WithKeys(keys...)) }
	return EditKeyMap{
		Left:          b("left", "ctrl+b"),
		Right:         b("right", "ctrl+f"),
		Home:          b("home", "ctrl+a"),
		End:           b("end", "ctrl+e"),
		DeleteBack:    b("backspace", "ctrl+h"),
		DeleteForward: b("delete", "ctrl+d"),
		DeleteToStart: b("ctrl+u"),
		DeleteToEnd:   b("ctrl+k"),
		DeleteWord:    b("ctrl+w", "alt+backspace"),
		Space:         b("space"),
	}
}

// ShortHelp is the one-line help bar.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Filter, k.Jump, k.StatusFilter, k.Lost, k.Select, k.Redrive,
		short(k.Classes, "classes"), short(k.Histogram, "chart"), short(k.Window, "window"), k.Sort, k.Refresh, k.Env, k.Help, k.Quit}
}

// FullHelp is the help shown with ?, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Help, k.Quit, k.Interrupt},
		{k.Open, k.Back, k.TogglePane, k.Filter, k.NextMatch, k.PrevMatch, k.Jump},
		{k.StatusFilter, k.Lost, k.Sort, k.Reverse, k.Wide, k.Columns, k.Refresh, k.AutoRefresh, k.Env},
		{k.Window, k.WindowRange, k.Classes, k.Histogram},
		{k.Pretty, k.Wrap, k.LoadMore, k.Save, k.Copy, k.Pager, k.Editor, k.HalfPageUp, k.HalfPageDown, k.ScrollLeft, k.ScrollRight},
		{k.Select, k.SelectAll, k.Redrive, k.RedriveModePrev, k.RedriveModeNext, k.RedriveForce, k.RedriveSkipPerm,
			k.RedriveFaster, k.RedriveSlower, k.RedriveMore, k.RedriveFewer, k.RedriveCancel, k.RedriveEngine},
		{k.DialogPrev, k.DialogNext, k.Accept, k.DialogClose, k.Dismiss, k.Yes, k.No},
	}
}

// detailShortHelp is the help bar while a request is open.
func (k KeyMap) detailShortHelp() []key.Binding {
	return []key.Binding{k.Back, k.TogglePane, k.Pretty, k.Wrap, k.Filter, k.LoadMore, k.Save, k.Copy, k.Pager, k.Redrive, k.Help}
}

// timelineShortHelp is the help bar of the detail's timeline tab; open: a log line is
// opened whole.
func (k KeyMap) timelineShortHelp(open bool) []key.Binding {
	if open {
		return []key.Binding{short(k.Back, "timeline"), key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓ pgup/pgdn", "scroll")),
			short(k.Copy, "copy line/query"), k.Help}
	}
	move := key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "entry"))
	return []key.Binding{k.Back, short(k.TogglePane, "next tab"), move, short(k.Open, "open log line"),
		short(k.Copy, "copy line/query"), short(k.Refresh, "gather again"), k.Redrive, k.Help}
}

// classesShortHelp is the help bar of the failure classes view.
func (k KeyMap) classesShortHelp() []key.Binding {
	open := k.Open
	open.SetHelp(k.Open.Help().Key, "its requests")
	sel := k.Select
	sel.SetHelp(k.Select.Help().Key, "select class")
	back := k.Back
	back.SetHelp(k.Back.Help().Key, "list")
	return []key.Binding{open, sel, k.SelectAll, k.Redrive, short(k.Window, "window"), short(k.Histogram, "chart"), k.Refresh, back, k.Help}
}

// short is b with a shorter description, for a help bar.
func short(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// histogramShortHelp is the help bar of the histogram.
func (k KeyMap) histogramShortHelp() []key.Binding {
	back := k.Back
	back.SetHelp(k.Back.Help().Key, "list")
	return []key.Binding{short(k.Window, "window"), short(k.WindowRange, "type a window"), short(k.Classes, "classes"), k.Refresh, back, k.Help}
}

// helpOpenShortHelp is the help bar while the full help is open.
func (k KeyMap) helpOpenShortHelp() []key.Binding {
	scroll := key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓ pgup/pgdn", "scroll"))
	closeHelp := k.Help
	closeHelp.SetHelp(k.Help.Help().Key+"/esc", "close help")
	return []key.Binding{scroll, closeHelp, k.Quit}
}

// HelpRow is one documented key.
type HelpRow struct {
	Key         string
	Description string
}

// HelpRows lists every binding of km in FullHelp order, for generated documentation.
func HelpRows(km KeyMap) []HelpRow {
	var rows []HelpRow
	for _, col := range km.FullHelp() {
		for _, b := range col {
			h := b.Help()
			rows = append(rows, HelpRow{Key: h.Key, Description: h.Desc})
		}
	}
	return rows
}
