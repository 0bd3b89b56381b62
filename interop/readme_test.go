package interop

import (
	"fmt"
	"os"
	"strings"
)

// readmeFile is the project README, whose interoperability section the
// harness writes: the matrices there are generated, never typed.
const readmeFile = "../README.md"

// spliceReadme replaces the text between the README's
// "<!-- BEGIN name -->" and "<!-- END name -->" markers with md, its
// headings moved down two levels to sit under the README's own.
func spliceReadme(name, md string) error {
	data, err := os.ReadFile(readmeFile)
	if err != nil {
		return err
	}
	begin, end := "<!-- BEGIN "+name+" -->\n", "<!-- END "+name+" -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q … %q markers", readmeFile, strings.TrimSpace(begin), end)
	}
	var b strings.Builder
	for line := range strings.Lines(md) {
		if strings.HasPrefix(line, "#") {
			line = "##" + line
		}
		b.WriteString(line)
	}
	out := s[:i+len(begin)] + strings.TrimRight(b.String(), "\n") + "\n" + s[j:]
	if out == s {
		return nil
	}
	return os.WriteFile(readmeFile, []byte(out), 0o644)
}
