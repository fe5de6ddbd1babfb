// Package localeenv keeps Fyne quiet about the C locale. Import it for its
// side effect, from package main, before anything that imports Fyne.
//
// While its packages initialise, Fyne looks up the user's language with
// github.com/jeandeaual/go-locale, which recognises LANG=C and LANG=POSIX but
// not their codeset forms: LANG=C.UTF-8, the default of Debian's containers,
// of CI runners and of many servers, comes out as the language "C", and Fyne
// prints a three-line "Error parsing user locale C" on stderr before main
// runs, on every command, the headless ones included. Both mean untranslated
// messages, so LC_MESSAGES=C says the same thing in a form the library
// understands.
//
// This has to happen before Fyne's lang package initialises. The Go
// specification (since Go 1.21) initialises, at each step, the first package
// by import path whose imports are ready. This package needs only os and
// strings, so it is ready the moment they are; Fyne's lang package also waits
// for text/template and golang.org/x/text, whose paths sort after this one,
// so it cannot come first. TestCommandsStartQuietlyUnderCUTF8 in package main
// checks the outcome.
package localeenv

import (
	"os"
	"strings"
)

func init() { fix(os.Getenv, os.Setenv) }

// fix sets LC_MESSAGES=C when the variable the messages language comes from
// (LC_ALL, then LC_MESSAGES, then LANG) names the C or POSIX locale with a
// codeset. LC_ALL overrides LC_MESSAGES, so a C.UTF-8 there is left alone:
// changing LC_ALL would also change the character type Fyne's window uses for
// keyboard input.
func fix(getenv func(string) string, setenv func(string, string) error) {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		lang, _, coded := strings.Cut(v, ".")
		if name != "LC_ALL" && coded && (lang == "C" || lang == "POSIX") {
			_ = setenv("LC_MESSAGES", "C")
		}
		return
	}
}
