package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/lang"
)

// The languages Tally ships, by the file that holds each.
var shippedLanguages = []string{"en", "es", "pt_BR", "de"}

// uiStrings reads the package's source for the strings it translates: the
// literal first argument of every lang.L, lang.X and lang.N call, and of
// every textKey (which marks keys translated where they are shown). A key
// built by joining literals with + counts as the joined text.
func uiStrings(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 || !isTranslation(call.Fun) {
				return true
			}
			s, ok := literal(call.Args[0])
			if !ok {
				// lang.L of a variable translates a key some textKey wrote.
				if id, isKey := call.Fun.(*ast.Ident); isKey && id.Name == "textKey" {
					t.Errorf("%s: textKey of something other than a literal: the key must be the text itself", fset.Position(call.Pos()))
				}
				return true
			}
			seen[s] = true
			return true
		})
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isTranslation(fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		pkg, ok := f.X.(*ast.Ident)
		return ok && pkg.Name == "lang" && (f.Sel.Name == "L" || f.Sel.Name == "X" || f.Sel.Name == "N")
	case *ast.Ident:
		return f.Name == "textKey"
	}
	return false
}

// literal is the string a literal, or literals joined with +, spell.
func literal(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", false
		}
		a, ok1 := literal(v.X)
		b, ok2 := literal(v.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return literal(v.X)
	}
	return "", false
}

func readTranslations(t *testing.T, language string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("translations", "tally."+language+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("translations for %s: %v", language, err)
	}
	return m
}

var placeholder = regexp.MustCompile(`{{\s*\.[A-Za-z]+\s*}}`)

func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	for i := range p {
		p[i] = strings.ReplaceAll(p[i], " ", "")
	}
	slices.Sort(p)
	return p
}

// Every string the window shows has a translation in every language Tally
// ships, with the same placeholders, and no language keeps strings the
// window no longer shows. TALLY_WRITE_EN=1 rewrites the English file from
// the source, for a developer who added strings.
func TestEveryUIStringHasEveryTranslation(t *testing.T) {
	keys := uiStrings(t)
	if len(keys) < 150 {
		t.Fatalf("found only %d translated strings: is the extraction broken?", len(keys))
	}
	if os.Getenv("TALLY_WRITE_EN") != "" {
		en := map[string]string{}
		for _, k := range keys {
			en[k] = k
		}
		b, _ := json.MarshalIndent(en, "", "  ")
		if err := os.WriteFile(filepath.Join("translations", "tally.en.json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, language := range shippedLanguages {
		m := readTranslations(t, language)
		for _, k := range keys {
			v, ok := m[k]
			switch {
			case !ok || strings.TrimSpace(v) == "":
				t.Errorf("%s: no translation of %q", language, k)
			case !slices.Equal(placeholders(k), placeholders(v)):
				t.Errorf("%s: %q has placeholders %v, its translation %q has %v", language, k, placeholders(k), v, placeholders(v))
			}
		}
		for k := range m {
			if !slices.Contains(keys, k) {
				t.Errorf("%s: %q is translated but the window no longer shows it", language, k)
			}
		}
	}
}

// The system's language picks the window's: German for LANGUAGE=de, Brazilian
// Portuguese for pt_BR, Spanish for es_MX (the nearest shipped), English for
// a language Tally does not ship.
func TestTheSystemLanguagePicksTheWindowsLanguage(t *testing.T) {
	for _, c := range []struct{ env, language string }{{"de", "de"}, {"pt_BR", "pt_BR"}, {"es_MX", "es"}, {"ja", "en"}} {
		t.Setenv("LANGUAGE", c.env)
		t.Setenv("LC_ALL", c.env+".UTF-8")
		if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
			t.Fatal(err)
		}
		want := readTranslations(t, c.language)["Go Live"]
		if got := lang.L("Go Live"); got != want {
			t.Errorf("with the system in %s the live button reads %q, want %q", c.env, got, want)
		}
	}
	t.Setenv("LANGUAGE", "en")
	t.Setenv("LC_ALL", "C")
	if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
		t.Fatal(err)
	}
}
