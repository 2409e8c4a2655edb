// Package ui draws bedup's progress for a person: a status line on a
// terminal, redrawn at most ten times a second, with notices printed above
// it. On anything but a terminal the status line is not drawn at all, so
// logs get only the notices.
package ui

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Status is a status line plus notices on one stream (stderr).
type Status struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width int
	line  string
	last  time.Time
	shown bool
}

// NewStatus draws on w; the status line only when w is a terminal.
func NewStatus(w io.Writer) *Status {
	s := &Status{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s.tty = true
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			s.width = width
		}
	}
	return s
}

// Update sets the status line, redrawing it if the last draw is older than
// 100 ms.
func (s *Status) Update(format string, a ...any) {
	if !s.tty {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.line = fmt.Sprintf(format, a...)
	if time.Since(s.last) >= 100*time.Millisecond {
		s.draw()
	}
}

func (s *Status) draw() {
	line := s.line
	if s.width > 1 {
		// Fit the terminal: a wrapped status line cannot be erased.
		if r := []rune(line); len(r) >= s.width {
			line = string(r[:s.width-1])
		}
	}
	// Carriage return, erase the line; no wrap while drawing.
	fmt.Fprintf(s.w, "\r\x1b[K\x1b[?7l%s\x1b[?7h", line)
	s.last, s.shown = time.Now(), true
}

func (s *Status) clear() {
	if s.shown {
		fmt.Fprint(s.w, "\r\x1b[K")
		s.shown = false
	}
}

// Notice prints one line above the status line.
func (s *Status) Notice(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tty {
		s.clear()
	}
	fmt.Fprintf(s.w, format+"\n", a...)
	if s.tty && s.line != "" {
		s.draw()
	}
}

// TTY reports whether the status line is drawn (the stream is a
// terminal).
func (s *Status) TTY() bool { return s.tty }

// Pause erases the status line so that another stream sharing the
// terminal can print a line; Resume draws it again.
func (s *Status) Pause() {
	if !s.tty {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
}

// Resume draws the status line again after Pause.
func (s *Status) Resume() {
	if !s.tty {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line != "" {
		s.draw()
	}
}

// Done erases the status line for good.
func (s *Status) Done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tty {
		s.clear()
	}
	s.line = ""
}

// Duration formats an elapsed time or ETA compactly: 5.3s, 01:36, 1:02:03.
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
}
