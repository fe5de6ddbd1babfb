package scene

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// Load reads the collection file at path: it parses it, resolves the paths
// in it against the file's directory (keeping them absolute in memory),
// fills in the defaults (Normalise) and validates it (Validate).
//
// Every problem with the file's content is an *Error that names the file,
// the line and the field, and wraps ErrInvalid. A file that is not there is
// the *fs.PathError of opening it, which is fs.ErrNotExist and not
// ErrInvalid: test ErrInvalid first to tell a broken collection (which may
// name a missing image, fs.ErrNotExist too) from none at all.
func Load(path string) (*Collection, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	c, e := parse(data, filepath.Dir(path))
	if e != nil {
		e.File = path
		return nil, e
	}
	return c, nil
}

// Parse is Load from bytes: relative paths in data are relative to dir ("" is
// the working directory). Its errors are Load's, with no File.
func Parse(data []byte, dir string) (*Collection, error) {
	c, e := parse(data, dir)
	if e != nil {
		return nil, e
	}
	return c, nil
}

// utf8BOM starts files some editors save.
var utf8BOM = []byte("\xef\xbb\xbf")

func parse(data []byte, dir string) (*Collection, *Error) {
	if len(data) > MaxFileSize {
		return nil, invalid("", "the file is larger than %d MiB, the most a scene collection may be", MaxFileSize>>20)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	ix, e := indexFile(data)
	if e != nil {
		return nil, e
	}
	var c Collection
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		// indexFile has let through only what decodes; this is a backstop.
		return nil, decodeError(data, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("the collection's directory: %w", err)}
	}
	c.resolve(abs)
	c.Normalise()
	if e := c.check(true); e != nil {
		e.Line = ix.line(e.Field)
		return nil, e
	}
	return &c, nil
}

// decodeError turns encoding/json's errors into an Error with a line.
func decodeError(data []byte, err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		e := invalidCause(te.Field, err, "must be %s, not %s", te.Type, te.Value)
		e.Line = lineAt(data, te.Offset)
		return e
	case errors.As(err, &se):
		e := invalidCause("", err, "%s", se.Error())
		e.Line = lineAt(data, se.Offset)
		return e
	}
	return invalidCause("", err, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// paths calls f with each path field of the collection.
func (c *Collection) paths(f func(*string)) {
	for i := range c.Sources {
		s := &c.Sources[i]
		f(&s.Path)
		if s.Text != nil {
			f(&s.Text.File)
			f(&s.Text.Font)
		}
	}
}

// resolve makes every relative path absolute against dir, and every path
// clean.
func (c *Collection) resolve(dir string) {
	c.paths(func(p *string) {
		switch {
		case *p == "":
		case filepath.IsAbs(*p):
			*p = filepath.Clean(*p)
		default:
			*p = filepath.Join(dir, *p)
		}
	})
}

// relativise writes each path under dir relative to it, with forward
// slashes, so that a folder of a collection and its pictures can move.
func (c *Collection) relativise(dir string) {
	c.paths(func(p *string) {
		if *p == "" || !filepath.IsAbs(*p) {
			return
		}
		r, err := filepath.Rel(dir, *p)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return
		}
		*p = filepath.ToSlash(r)
	})
}

// Encode is the file Save writes into dir ("" is the working directory):
// the collection normalised, paths under dir relative to it, as JSON
// indented by two spaces with a newline at the end. It refuses a collection
// that breaks a rule of Validate's, but does not look at the files sources
// name.
func (c *Collection) Encode(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out := c.Clone()
	out.Normalise()
	if e := out.check(false); e != nil {
		return nil, e
	}
	out.relativise(abs)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "<" in a title stays "<"
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Save writes the collection to path atomically: a reader (or a crash) sees
// the old file or the new one, never a mix. It writes a temporary file in
// the same directory (which it creates if need be), flushes it to disk,
// renames it over path and flushes the directory. A failure leaves the old
// file as it was and no temporary file behind. See Encode for what it
// writes and refuses.
func (c *Collection) Save(path string) error {
	data, err := c.Encode(filepath.Dir(path))
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) {
			e.File = path
		}
		return err
	}
	return writeAtomic(path, data)
}

// rename is os.Rename; tests make it fail.
var rename = os.Rename

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm() // keep what the user chose
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if runtime.GOOS != "windows" { // where modes are only a read-only bit
		if err = f.Chmod(mode); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes a directory, so that a rename in it survives a crash.
// Windows cannot, and some file systems need not.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
