package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/term"
)

// historyMax is how many lines the history keeps, in memory and in its file.
const historyMax = 1000

// history is the Terminal's line history, kept across sessions in a file
// when it has one: each line typed is appended to it. Lines starting with
// a space are not recorded (as bash's HISTCONTROL=ignorespace), nor a
// repeat of the line before.
type history struct {
	mu      sync.Mutex
	entries []string // oldest first
	f       *os.File // nil: not saved
}

// historyPath is $XDG_STATE_HOME/wsdump/history, else
// ~/.local/state/wsdump/history; "" when neither can be found.
func historyPath() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "wsdump", "history")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".local", "state", "wsdump", "history")
}

// openHistory loads the history saved at path and opens it to append the
// lines to come. A history that cannot be read or written is kept in
// memory only: it is a convenience, not worth failing for.
func openHistory(path string) *history {
	h := &history{}
	if path == "" {
		return h
	}
	if data, err := os.ReadFile(path); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if line != "" {
				h.entries = append(h.entries, line)
			}
		}
		if len(h.entries) > historyMax {
			// Compact the file to its last lines.
			h.entries = h.entries[len(h.entries)-historyMax:]
			tmp := path + ".tmp"
			if os.WriteFile(tmp, []byte(strings.Join(h.entries, "\n")+"\n"), 0o600) == nil {
				os.Rename(tmp, path)
			}
		}
	}
	if os.MkdirAll(filepath.Dir(path), 0o700) == nil {
		h.f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	}
	return h
}

// Add records a line read (term.History).
func (h *history) Add(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if line == "" || line[0] == ' ' || len(h.entries) > 0 && h.entries[len(h.entries)-1] == line {
		return
	}
	h.entries = append(h.entries, line)
	if len(h.entries) > historyMax {
		h.entries = h.entries[1:]
	}
	if h.f != nil {
		h.f.WriteString(line + "\n")
	}
}

// Len returns the number of lines (term.History).
func (h *history) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.entries)
}

// At returns a line, 0 the newest (term.History).
func (h *history) At(i int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.entries[len(h.entries)-1-i]
}

func (h *history) close() {
	if h.f != nil {
		h.f.Close()
	}
}

// Keys of the reverse search.
const (
	keyCtrlG = 7
	keyCtrlR = 18
)

// searcher is Ctrl-R, bash's reverse-i-search, built on the Terminal's
// per-key callback: Ctrl-R starts a search and then finds the next older
// match, typed characters narrow it, Enter sends the line found, Ctrl-G
// restores the line from before the search, and any other key that is not
// an editing key ends the search with the line found.
type searcher struct {
	t      *term.Terminal
	h      *history
	prompt string // the normal prompt

	mu     sync.Mutex
	active bool
	query  string
	idx    int    // history index of the match, -1 for none yet
	saved  string // the line before the search
}

// key is the Terminal's AutoCompleteCallback.
func (s *searcher) key(line string, pos int, key rune) (string, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case key == keyCtrlR && !s.active:
		s.active, s.query, s.idx, s.saved = true, "", -1, line
		return s.find(0, line, pos)
	case key == keyCtrlR:
		return s.find(s.idx+1, line, pos)
	case !s.active:
		return "", 0, false
	case key == keyCtrlG:
		s.stop()
		return s.saved, len(s.saved), true
	case key >= 0x20 && key != 0x7f && key < 0xd800:
		s.query += string(key)
		return s.find(max(s.idx, 0), line, pos)
	}
	s.stop()
	return "", 0, false
}

// find looks for the query from history index from on; without a match the
// line stays as it is.
func (s *searcher) find(from int, line string, pos int) (string, int, bool) {
	n := s.h.Len()
	for i := from; i < n && s.query != ""; i++ {
		if e := s.h.At(i); strings.Contains(e, s.query) {
			s.idx = i
			s.setPrompt("(reverse-i-search)`" + s.query + "': ")
			return e, len(e[:strings.Index(e, s.query)]), true
		}
	}
	p := "(reverse-i-search)`" + s.query + "': "
	if s.query != "" {
		p = "(failed reverse-i-search)`" + s.query + "': "
	}
	s.setPrompt(p)
	return line, pos, true
}

// setPrompt shows prompt in place of the current one. (SetPrompt alone
// waits for the next line; an empty Write redraws the prompt and line.)
func (s *searcher) setPrompt(prompt string) {
	s.t.SetPrompt(prompt)
	s.t.Write(nil)
}

func (s *searcher) stop() {
	s.active = false
	s.setPrompt(s.prompt)
}

// end ends a search when ReadLine returned, without a redraw: the next
// ReadLine prints the normal prompt.
func (s *searcher) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active {
		s.active = false
		s.t.SetPrompt(s.prompt)
	}
}
