// Package matrix records the results of the interop checks (server × check)
// and renders them as a Markdown table.
package matrix

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Status is the outcome of one check against one server.
type Status int

// The outcomes. NotApplicable is for a check the server cannot do (never
// for one that failed); Skipped is for a server that could not be started
// because a program is missing outside CI.
const (
	NotRun Status = iota
	OK
	Fail
	NotApplicable
	Skipped
)

// String returns the cell text of s.
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Fail:
		return "FAIL"
	case NotApplicable:
		return "n/a"
	case Skipped:
		return "skip"
	}
	return "-"
}

// Cell is one result: its status and, for n/a, skip and FAIL, why.
type Cell struct {
	Status Status
	Note   string
}

// Matrix collects cells; it is safe for concurrent use.
type Matrix struct {
	mu       sync.Mutex
	columns  []string
	rows     []string
	cells    map[[2]string]Cell
	versions map[string]string
}

// New returns an empty matrix with the given columns, in order.
func New(columns ...string) *Matrix {
	return &Matrix{
		columns:  columns,
		cells:    map[[2]string]Cell{},
		versions: map[string]string{},
	}
}

// AddRow adds a server row (in order of first use); adding it again does
// nothing.
func (m *Matrix) AddRow(row, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.rows, row) {
		m.rows = append(m.rows, row)
	}
	if version != "" {
		m.versions[row] = version
	}
}

// Set records the result of check col on server row.
func (m *Matrix) Set(row, col string, c Cell) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.rows, row) {
		m.rows = append(m.rows, row)
	}
	m.cells[[2]string{row, col}] = c
}

// SetRow records c for every column of row that has no result yet.
func (m *Matrix) SetRow(row string, c Cell) {
	for _, col := range m.columns {
		if m.Get(row, col).Status == NotRun {
			m.Set(row, col, c)
		}
	}
}

// Get returns the cell of row and col (NotRun if none).
func (m *Matrix) Get(row, col string) Cell {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cells[[2]string{row, col}]
}

// Rows returns the number of rows.
func (m *Matrix) Rows() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

// Complete reports whether the matrix has at least one row and every cell
// has a result.
func (m *Matrix) Complete() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rows) == 0 {
		return false
	}
	for _, r := range m.rows {
		for _, c := range m.columns {
			if m.cells[[2]string{r, c}].Status == NotRun {
				return false
			}
		}
	}
	return true
}

// Count returns how many cells have status s.
func (m *Matrix) Count(s Status) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.cells {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Markdown renders the table, then numbered notes for every cell that has
// one (identical notes share a number), then the server versions.
func (m *Matrix) Markdown() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("| server |")
	for _, c := range m.columns {
		fmt.Fprintf(&b, " %s |", c)
	}
	b.WriteString("\n|---|")
	for range m.columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var notes []string
	for _, r := range m.rows {
		fmt.Fprintf(&b, "| %s |", r)
		for _, col := range m.columns {
			c := m.cells[[2]string{r, col}]
			text := c.Status.String()
			if c.Status == Fail {
				text = "**FAIL**"
			}
			if c.Note != "" {
				i := slices.Index(notes, c.Note)
				if i < 0 {
					notes = append(notes, c.Note)
					i = len(notes) - 1
				}
				text += fmt.Sprintf(" [%d]", i+1)
			}
			fmt.Fprintf(&b, " %s |", text)
		}
		b.WriteString("\n")
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "%d. %s\n", i+1, escapeNote(n))
		}
	}
	if len(m.versions) > 0 {
		b.WriteString("\nVersions:\n\n")
		for _, r := range m.rows {
			if v, ok := m.versions[r]; ok {
				fmt.Fprintf(&b, "- %s: %s\n", r, v)
			}
		}
	}
	return b.String()
}

// escapeNote keeps a note on one Markdown list line.
func escapeNote(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
