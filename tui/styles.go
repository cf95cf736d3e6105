package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/progress"
	"charm.land/lipgloss/v2"

	"github.com/stowage-cli/stowage/internal/inventory"
)

// Styles holds every style the TUI draws with. It is built once per background
// (NewStyles) and handed to the parts; nothing builds styles on the render path.
type Styles struct {
	IsDark bool

	App           lipgloss.Style
	Header        lipgloss.Style
	EnvName       lipgloss.Style // coloured per environment in envStyle
	Production    lipgloss.Style
	ProductionBar lipgloss.Style // the full-width line over a production environment
	DialogProd    lipgloss.Style // a write dialog in a production environment
	ReadOnly      lipgloss.Style
	HeaderKey     lipgloss.Style
	HeaderVal     lipgloss.Style
	Muted         lipgloss.Style
	Faint         lipgloss.Style

	TableHeader lipgloss.Style
	Row         lipgloss.Style
	RowSelected lipgloss.Style
	Cursor      lipgloss.Style

	StateProcessed lipgloss.Style
	StateFailed    lipgloss.Style
	StatePending   lipgloss.Style
	StateLost      lipgloss.Style
	StateUnknown   lipgloss.Style
	ErrorText      lipgloss.Style

	PaneBorder  lipgloss.Style
	PaneTitle   lipgloss.Style
	LineNumber  lipgloss.Style
	Marker      lipgloss.Style // parse error marker
	MatchLine   lipgloss.Style
	Notice      lipgloss.Style // "showing 1.0 MiB of 48.3 MiB"
	SectionHead lipgloss.Style
	Label       lipgloss.Style

	StatusOK    lipgloss.Style
	StatusError lipgloss.Style
	StatusWarn  lipgloss.Style
	Spinner     lipgloss.Style
	Prompt      lipgloss.Style

	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style
	DialogItem  lipgloss.Style
	DialogSel   lipgloss.Style

	Help help.Styles
	// Progress is the redrive's progress bar, styled; the view sets its width on a copy.
	Progress progress.Model
	Marked   lipgloss.Style // the ✓ of a row selected for a redrive

	accent color.Color
}

// NewStyles builds the styles for a dark or light terminal background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	fg := ld(lipgloss.Color("#1f2328"), lipgloss.Color("#e6edf3"))
	muted := ld(lipgloss.Color("#57606a"), lipgloss.Color("#8b949e"))
	faint := ld(lipgloss.Color("#8c959f"), lipgloss.Color("#6e7681"))
	accent := ld(lipgloss.Color("#0969da"), lipgloss.Color("#58a6ff"))
	green := ld(lipgloss.Color("#1a7f37"), lipgloss.Color("#3fb950"))
	red := ld(lipgloss.Color("#cf222e"), lipgloss.Color("#f85149"))
	yellow := ld(lipgloss.Color("#9a6700"), lipgloss.Color("#d29922"))
	magenta := ld(lipgloss.Color("#8250df"), lipgloss.Color("#d2a8ff"))
	selBg := ld(lipgloss.Color("#ddf4ff"), lipgloss.Color("#1f3a5f"))
	border := ld(lipgloss.Color("#d0d7de"), lipgloss.Color("#30363d"))

	s := Styles{IsDark: isDark, accent: accent}
	s.App = lipgloss.NewStyle().Foreground(fg)
	s.Header = lipgloss.NewStyle()
	s.EnvName = lipgloss.NewStyle().Bold(true).Padding(0, 1).Foreground(lipgloss.Color("#ffffff")).Background(accent)
	s.Production = lipgloss.NewStyle().Bold(true).Padding(0, 1).Foreground(lipgloss.Color("#ffffff")).Background(lipgloss.Color("#b91c1c"))
	s.ProductionBar = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(lipgloss.Color("#b91c1c"))
	s.ReadOnly = lipgloss.NewStyle().Bold(true).Padding(0, 1).Foreground(lipgloss.Color("#000000")).Background(lipgloss.Color("#e3b341"))
	s.HeaderKey = lipgloss.NewStyle().Foreground(muted)
	s.HeaderVal = lipgloss.NewStyle().Foreground(fg)
	s.Muted = lipgloss.NewStyle().Foreground(muted)
	s.Faint = lipgloss.NewStyle().Foreground(faint)

	// Every column title in the same bold text colour: muted titles read as dim beside
	// the first one in captures that do not repeat an unchanged colour at a line start.
	s.TableHeader = lipgloss.NewStyle().Bold(true).Foreground(fg)
	s.Row = lipgloss.NewStyle()
	s.RowSelected = lipgloss.NewStyle().Background(selBg).Bold(true)
	s.Cursor = lipgloss.NewStyle().Foreground(accent).Bold(true)

	s.StateProcessed = lipgloss.NewStyle().Foreground(green)
	s.StateFailed = lipgloss.NewStyle().Foreground(red).Bold(true)
	s.StatePending = lipgloss.NewStyle().Foreground(yellow)
	s.StateLost = lipgloss.NewStyle().Foreground(magenta).Bold(true)
	s.StateUnknown = lipgloss.NewStyle().Foreground(faint)
	s.ErrorText = lipgloss.NewStyle().Foreground(red)

	s.PaneBorder = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border)
	s.PaneTitle = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.LineNumber = lipgloss.NewStyle().Foreground(faint)
	s.Marker = lipgloss.NewStyle().Foreground(lipgloss.Color("#ffffff")).Background(red).Bold(true)
	s.MatchLine = lipgloss.NewStyle().Background(ld(lipgloss.Color("#fff8c5"), lipgloss.Color("#3b2e00")))
	s.Notice = lipgloss.NewStyle().Foreground(yellow)
	s.SectionHead = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Label = lipgloss.NewStyle().Foreground(muted)

	s.StatusOK = lipgloss.NewStyle().Foreground(green)
	s.StatusError = lipgloss.NewStyle().Foreground(red).Bold(true)
	s.StatusWarn = lipgloss.NewStyle().Foreground(yellow)
	s.Spinner = lipgloss.NewStyle().Foreground(accent)
	s.Prompt = lipgloss.NewStyle().Foreground(accent).Bold(true)

	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1)
	s.DialogProd = s.Dialog.BorderForeground(lipgloss.Color("#dc2626")).Border(lipgloss.ThickBorder())
	s.DialogTitle = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.DialogItem = lipgloss.NewStyle()
	s.DialogSel = lipgloss.NewStyle().Background(selBg).Bold(true)

	// bubbles' default help colours (#4A4A4A on dark) are too dim to read at 3 a.m.: keys
	// in the text colour, descriptions muted, separators faint.
	s.Help = help.Styles{
		Ellipsis:       lipgloss.NewStyle().Foreground(faint),
		ShortKey:       lipgloss.NewStyle().Foreground(fg).Bold(true),
		ShortDesc:      lipgloss.NewStyle().Foreground(muted),
		ShortSeparator: lipgloss.NewStyle().Foreground(faint),
		FullKey:        lipgloss.NewStyle().Foreground(fg).Bold(true),
		FullDesc:       lipgloss.NewStyle().Foreground(muted),
		FullSeparator:  lipgloss.NewStyle().Foreground(faint),
	}
	s.Progress = progress.New(progress.WithColors(accent), progress.WithFillCharacters('█', '░'))
	s.Progress.EmptyColor = border
	s.Progress.PercentageStyle = lipgloss.NewStyle().Foreground(fg)
	s.Marked = lipgloss.NewStyle().Foreground(accent).Bold(true)
	return s
}

// stateStyle picks the style of a status cell by what the state means.
func (s Styles) stateStyle(c inventory.Class) lipgloss.Style {
	switch c {
	case inventory.ClassLost:
		return s.StateLost
	case inventory.ClassNone:
		return s.StateUnknown
	case inventory.ClassDone:
		return s.StateProcessed
	case inventory.ClassFailed:
		return s.StateFailed
	default:
		return s.StatePending
	}
}

// envStyle is the environment name badge: red for production, the configured colour
// when there is one, the accent otherwise.
func (s Styles) envStyle(production bool, configured string) lipgloss.Style {
	if production {
		return s.Production
	}
	if configured != "" {
		return s.EnvName.Background(lipgloss.Color(configured))
	}
	return s.EnvName
}
