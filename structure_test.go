package websocket

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Limits that keep the package readable: a file a reader can hold, a
// function that fits on a screen or two.
const (
	maxFileLines = 600
	maxFuncLines = 80
)

// parsePackage parses the package's non-test files in the current
// directory, keyed by file name.
func parsePackage(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	if len(files) == 0 {
		wd, _ := os.Getwd()
		t.Fatalf("no Go files in %s", wd)
	}
	return fset, files
}

// TestFileAndFuncSize: no file of the package is over maxFileLines lines and
// no function over maxFuncLines, unless its doc comment says why it is
// "long because".
func TestFileAndFuncSize(t *testing.T) {
	fset, files := parsePackage(t)
	for name, f := range files {
		if n := fset.File(f.Pos()).LineCount(); n > maxFileLines {
			t.Errorf("%s has %d lines, over %d: split it by concern", name, n, maxFileLines)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if n > maxFuncLines && !strings.Contains(fd.Doc.Text(), "long because") {
				t.Errorf("%s: %s has %d lines, over %d: split it, or say in its doc comment why it is long because of ...",
					fset.Position(fd.Pos()), fd.Name.Name, n, maxFuncLines)
			}
		}
	}
}

// dialFlow is the order in which a dial passes through the files (see the
// comment at the top of dial.go). The files not named here are leaves any
// stage may use.
var dialFlow = []string{
	"dial.go", "dial_h2.go", "transport.go", "proxy.go", "sockopt.go", "tls.go",
	"handshake.go", "handshake_parse.go", "conn.go",
}

// TestDialFlowForward: following the dial from Dial, no function of a
// file in dialFlow refers to a function of a file before it, so the dial
// visits each of them once, in that order, and never returns to one.
func TestDialFlowForward(t *testing.T) {
	_, files := parsePackage(t)
	// Each function's and method's declaration; a method name declared
	// more than once cannot be told apart without types and is left out.
	decls := map[string]*ast.FuncDecl{}
	where := map[*ast.FuncDecl]string{}
	methods := map[string]int{}
	for name, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				key := fd.Name.Name
				if fd.Recv != nil {
					methods[key]++
					key = "." + key
				}
				decls[key] = fd
				where[fd] = name
			}
		}
	}
	refs := func(fd *ast.FuncDecl) []*ast.FuncDecl {
		var out []*ast.FuncDecl
		sels := map[*ast.Ident]bool{} // x.f: f is a field, a method or another package's
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				sels[n.Sel] = true
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok {
					sels[k] = true // a struct field's name
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && methods[sel.Sel.Name] == 1 {
					out = append(out, decls["."+sel.Sel.Name])
				}
			case *ast.Ident:
				// Obj is nil for what another file declares, a local
				// of the same name is not a function.
				if d, ok := decls[n.Name]; ok && !sels[n] && (n.Obj == nil || n.Obj.Kind == ast.Fun) {
					out = append(out, d)
				}
			}
			return true
		})
		return out
	}
	rank := func(fd *ast.FuncDecl) int { return slices.Index(dialFlow, where[fd]) }
	seen := map[*ast.FuncDecl]bool{}
	queue := []*ast.FuncDecl{decls["Dial"]}
	for len(queue) > 0 {
		fd := queue[0]
		queue = queue[1:]
		if seen[fd] || fd.Body == nil {
			continue
		}
		seen[fd] = true
		for _, callee := range refs(fd) {
			if r := rank(fd); r >= 0 && rank(callee) >= 0 && rank(callee) < r {
				t.Errorf("%s (%s) refers to %s (%s), back up the dial flow", fd.Name.Name, where[fd], callee.Name.Name, where[callee])
			}
			queue = append(queue, callee)
		}
	}
	if !seen[decls["handshake"]] || !seen[decls["newConn"]] {
		t.Error("the walk from Dial did not reach handshake and newConn")
	}
}
