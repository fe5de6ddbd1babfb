package ui

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package doc's promise: the ui talks to the engine only, never to the
// packages under it.
func TestUIImportsNothingUnderTheEngine(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, below := range []string{"/capture", "/encode", "/compose", "/rtmpclient", "/flv", "/ingest"} {
				if strings.HasPrefix(path, "github.com/tallystudio/tally"+below) {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
