// Package cputime reads the CPU time this process has used. It is apart from
// app, which needs cgo, so that `make vet-cross` can type-check it for every
// system the README gives steps for.
package cputime
