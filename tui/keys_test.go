package tui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
)

// TestKeyMapCoversEveryKey: every binding of the KeyMap is in the full help (so in ? and
// in the README's generated key table), and no code matches a key by comparing its
// string: a key matched any other way would be missing from both.
func TestKeyMapCoversEveryKey(t *testing.T) {
	km := DefaultKeyMap()
	inHelp := map[string]bool{}
	for _, col := range km.FullHelp() {
		for _, b := range col {
			inHelp[strings.Join(b.Keys(), " ")+"\x00"+b.Help().Desc] = true
		}
	}
	v := reflect.ValueOf(km)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		b, ok := v.Field(i).Interface().(key.Binding)
		if !ok {
			t.Errorf("KeyMap.%s is not a key.Binding", f.Name)
			continue
		}
		if len(b.Keys()) == 0 || b.Help().Key == "" || b.Help().Desc == "" {
			t.Errorf("KeyMap.%s has no keys or no help", f.Name)
		}
		if !inHelp[strings.Join(b.Keys(), " ")+"\x00"+b.Help().Desc] {
			t.Errorf("KeyMap.%s is not in FullHelp: ? and the README do not show it", f.Name)
		}
	}

	ek := reflect.ValueOf(DefaultEditKeyMap())
	for i := 0; i < ek.NumField(); i++ {
		if b, ok := ek.Field(i).Interface().(key.Binding); !ok || len(b.Keys()) == 0 {
			t.Errorf("EditKeyMap.%s has no keys", ek.Type().Field(i).Name)
		}
	}

	for _, c := range rawKeyComparisons(t) {
		t.Errorf("%s: a key matched as a raw string; add a KeyMap binding and use key.Matches", c)
	}
}

// rawKeyComparisons finds x.String() == "literal", and switch x.String() with literal
// cases, in the package's non-test files.
func rawKeyComparisons(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	isStringCall := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ToLower" && len(c.Args) == 1 {
			c, ok = c.Args[0].(*ast.CallExpr) // strings.ToLower(msg.String())
			if !ok {
				return false
			}
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "String" && len(c.Args) == 0
	}
	isLit := func(e ast.Expr) bool {
		l, ok := e.(*ast.BasicLit)
		return ok && l.Kind == token.STRING
	}
	var found []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) &&
					(isStringCall(n.X) && isLit(n.Y) || isStringCall(n.Y) && isLit(n.X)) {
					found = append(found, fset.Position(n.Pos()).String())
				}
			case *ast.SwitchStmt:
				if n.Tag != nil && isStringCall(n.Tag) {
					found = append(found, fset.Position(n.Pos()).String())
				}
			}
			return true
		})
	}
	return found
}

// TestRawKeyScanFindsComparisons keeps the scan honest: it sees the forms it forbids.
func TestRawKeyScanFindsComparisons(t *testing.T) {
	src := `package x
func f(msg interface{ String() string }) {
	if msg.String() == "ctrl+u" {}
	switch msg.String() { case "y": }
	switch strings.ToLower(msg.String()) { case "n": }
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		switch node.(type) {
		case *ast.BinaryExpr, *ast.SwitchStmt:
			n++
		}
		return true
	})
	if n != 3 {
		t.Fatalf("parsed %d candidate nodes, want 3", n)
	}
}
