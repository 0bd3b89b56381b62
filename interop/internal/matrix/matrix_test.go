package matrix

import "testing"

func TestMarkdown(t *testing.T) {
	m := New("a", "b")
	m.AddRow("s1", "v1")
	m.Set("s1", "a", Cell{Status: OK})
	m.Set("s1", "b", Cell{Status: NotApplicable, Note: "cannot\n  do b"})
	m.AddRow("s2", "")
	if m.Complete() {
		t.Fatal("Complete() = true with s2 empty")
	}
	m.SetRow("s2", Cell{Status: Skipped, Note: "missing x"})
	m.Set("s2", "a", Cell{Status: Fail, Note: "cannot\n  do b"}) // same note, same number
	if !m.Complete() {
		t.Fatal("Complete() = false with every cell set")
	}
	want := `| server | a | b |
|---|---|---|
| s1 | ok | n/a [1] |
| s2 | **FAIL** [1] | skip [2] |

Notes:

1. cannot do b
2. missing x

Versions:

- s1: v1
`
	if got := m.Markdown(); got != want {
		t.Errorf("Markdown() =\n%s\nwant\n%s", got, want)
	}
	if got := m.Count(Fail); got != 1 {
		t.Errorf("Count(Fail) = %d, want 1", got)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{NotRun: "-", OK: "ok", Fail: "FAIL", NotApplicable: "n/a", Skipped: "skip"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", s, got, want)
		}
	}
}
