package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/ui"
)

const debAppID = "io.github.tallystudio.tally"

// TestDebInstallsAndStartsWithItsOwnFFmpegFromItsDesktopEntry builds the
// packages with `make package`, unpacks the .deb into a throwaway root (the
// machine's own system is left alone), validates its desktop entry and AppStream
// metadata, and requires that nothing it ships resolves a library into the
// FFmpeg build cache: the package must run where that cache does not exist.
// Then it starts the installed binary the way a desktop does, through the
// desktop entry's Exec line, and waits for the studio's window; the running
// process must have mapped the package's own libavcodec.
func TestDebInstallsAndStartsWithItsOwnFFmpegFromItsDesktopEntry(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the packages are built for linux/amd64 only")
	}
	for _, prog := range []string{"make", "dpkg-deb", "ldd", "readelf", "desktop-file-validate", "appstreamcli"} {
		peers.Require(t, prog)
	}
	x := requireXvfb(t)

	version := fyneAppVersion(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	build := exec.CommandContext(ctx, "make", "--no-print-directory", "package")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	t.Logf("make package took %v", time.Since(start).Round(time.Second))

	deb := filepath.Join("dist", "tally_"+version+"_amd64.deb")
	if fi, err := os.Stat(deb); err != nil {
		t.Fatalf("make package left no %s: %v", deb, err)
	} else {
		t.Logf("%s: %.1f MB", deb, float64(fi.Size())/1e6)
	}
	// FFmpeg 8 travels inside the package: a Depends on a libav* package would
	// pull in (or be refused by) the distribution's own FFmpeg 5.1.
	depends := runOut(t, ctx, "dpkg-deb", "-f", deb, "Depends")
	if regexp.MustCompile(`\blib(av|sw)[a-z]*[0-9]`).MatchString(depends) {
		t.Errorf("the .deb depends on a distribution FFmpeg library: %s", depends)
	}

	root := t.TempDir()
	runOut(t, ctx, "dpkg-deb", "-x", deb, root)

	desktop := filepath.Join(root, "usr/share/applications", debAppID+".desktop")
	runOut(t, ctx, "desktop-file-validate", desktop)
	// --no-net: the URLs in the metadata are not fetched; the tests run offline.
	runOut(t, ctx, "appstreamcli", "validate", "--no-net", filepath.Join(root, "usr/share/metainfo", debAppID+".metainfo.xml"))
	for _, size := range []int{48, 64, 128, 256, 512} {
		requireIconSize(t, filepath.Join(root, fmt.Sprintf("usr/share/icons/hicolor/%dx%d/apps/%s.png", size, size, debAppID)), size)
	}

	bin := filepath.Join(root, "usr/bin/tally")
	libs, _ := filepath.Glob(filepath.Join(root, "usr/lib/tally/*.so*"))
	if len(libs) == 0 {
		t.Fatal("the .deb carries no libraries in /usr/lib/tally")
	}
	for _, elf := range append([]string{bin}, libs...) {
		requireNoBuildCacheLibraries(t, ctx, elf, root)
	}
	requireResolvesInto(t, ctx, bin, "libavcodec.so.", filepath.Join(root, "usr/lib/tally"))

	// The desktop entry's Exec line, run as a desktop would with the throwaway
	// root's bin first on PATH.
	argv := desktopExec(t, desktop)
	if !filepath.IsAbs(argv[0]) {
		argv[0] = filepath.Join(root, "usr/bin", argv[0])
	}
	if argv[0] != bin {
		t.Fatalf("the desktop entry runs %s, not the installed %s", argv[0], bin)
	}
	home := t.TempDir()
	st := studioRun{cmd: exec.CommandContext(ctx, argv[0], argv[1:]...), logs: new(bytes.Buffer), exited: make(chan error, 1)}
	st.cmd.Env = append(x.Env(),
		"PATH="+filepath.Join(root, "usr/bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_DIRS="+filepath.Join(root, "usr/share")+":/usr/share",
		// Only the package's RUNPATH may find the libraries.
		"LD_LIBRARY_PATH=")
	st.cmd.Stdout, st.cmd.Stderr = st.logs, st.logs
	// A session bus the keyring autolaunched may hold the output pipes open.
	st.cmd.WaitDelay = 5 * time.Second
	if err := st.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() { st.exited <- st.cmd.Wait() }()
	t.Cleanup(func() {
		_ = st.cmd.Process.Kill()
		<-st.exited
	})
	winCtx, winCancel := context.WithTimeout(ctx, 90*time.Second)
	defer winCancel()
	if _, err := x.WaitWindow(winCtx, ui.Title); err != nil {
		t.Fatalf("the installed tally showed no window: %v\n%s", err, st.logs.String())
	}
	requireMapsFrom(t, st.cmd.Process.Pid, "libavcodec.so.", filepath.Join(root, "usr/lib/tally"))
	st.stopWith(t, syscall.SIGTERM)

	requireTarballInstallsItsLibraries(t, ctx)
}

// requireTarballInstallsItsLibraries unpacks Fyne's tarball and runs its
// Makefile's install into a staging directory: the binary it installs must find
// the FFmpeg libraries the same Makefile installed beside it.
func requireTarballInstallsItsLibraries(t *testing.T, ctx context.Context) {
	t.Helper()
	dir, dest := t.TempDir(), t.TempDir()
	runOut(t, ctx, "tar", "-xJf", filepath.Join("dist", "Tally.tar.xz"), "-C", dir)
	runOut(t, ctx, "make", "-C", filepath.Join(dir, "tally"), "install", "DESTDIR="+dest, "PREFIX=/usr")
	bin := filepath.Join(dest, "usr/bin/tally")
	requireNoBuildCacheLibraries(t, ctx, bin, dest)
	requireResolvesInto(t, ctx, bin, "libavcodec.so.", filepath.Join(dest, "usr/lib/tally"))
}

// fyneAppVersion is FyneApp.toml's Version, the one the package is named for.
func fyneAppVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Version\s*=\s*"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("FyneApp.toml has no Version")
	}
	return string(m[1])
}

// runOut runs a program that must succeed and returns its trimmed stdout.
func runOut(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// requireNoBuildCacheLibraries fails if ldd finds any library of elf missing, or
// in FFmpeg's build cache, or if elf keeps a RUNPATH leading outside root.
func requireNoBuildCacheLibraries(t *testing.T, ctx context.Context, elf, root string) {
	t.Helper()
	out := runOut(t, ctx, "ldd", elf)
	cache := os.Getenv("TALLY_FFMPEG") // the build cache's prefix, under make
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "not found"):
			t.Errorf("%s: a library is not found: %s", filepath.Base(elf), line)
		case strings.Contains(line, "/.cache/tally/"),
			cache != "" && cache != "system" && strings.Contains(line, cache):
			t.Errorf("%s: a library resolves into the build cache: %s", filepath.Base(elf), line)
		}
	}
	dyn := runOut(t, ctx, "readelf", "-d", elf)
	for _, line := range strings.Split(dyn, "\n") {
		if !strings.Contains(line, "RUNPATH") && !strings.Contains(line, "RPATH") {
			continue
		}
		_, path, _ := strings.Cut(line, "[")
		for _, p := range strings.Split(strings.TrimSuffix(path, "]"), ":") {
			if !strings.HasPrefix(p, "$ORIGIN") {
				t.Errorf("%s: RUNPATH %q leads outside the package", filepath.Base(elf), p)
			}
		}
	}
	if t.Failed() {
		t.Logf("ldd %s:\n%s", elf, out)
	}
}

// requireResolvesInto fails unless ldd resolves the library named prefix* of
// elf to a file in dir.
func requireResolvesInto(t *testing.T, ctx context.Context, elf, prefix, dir string) {
	t.Helper()
	out := runOut(t, ctx, "ldd", elf)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasPrefix(f[0], prefix) && f[1] == "=>" {
			got, err := filepath.EvalSymlinks(f[2])
			if err != nil {
				t.Fatalf("%s resolves to %s: %v", f[0], f[2], err)
			}
			if want, _ := filepath.EvalSymlinks(dir); filepath.Dir(got) != want {
				t.Fatalf("%s resolves to %s, not into %s", f[0], got, dir)
			}
			return
		}
	}
	t.Fatalf("ldd %s names no %s*:\n%s", elf, prefix, out)
}

// requireMapsFrom fails unless the running process pid has mapped a library
// named prefix* from dir, and nothing from the build cache: what the dynamic
// loader really chose, beyond what ldd predicts.
func requireMapsFrom(t *testing.T, pid int, prefix, dir string) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Fatalf("read the process's mappings: %v", err)
	}
	want, _ := filepath.EvalSymlinks(dir)
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		if strings.Contains(f[5], "/.cache/tally/") {
			t.Errorf("the running tally mapped %s, in the build cache", f[5])
		}
		if !strings.HasPrefix(filepath.Base(f[5]), prefix) {
			continue
		}
		found = true
		if filepath.Dir(f[5]) != want {
			t.Errorf("the running tally mapped %s, not the package's own in %s", f[5], dir)
		}
	}
	if !found {
		t.Errorf("the running tally mapped no %s*", prefix)
	}
}

// requireIconSize fails unless path is a PNG of size×size pixels.
func requireIconSize(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("icon %dx%d: %v", size, size, err)
		return
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Errorf("icon %s: %v", path, err)
		return
	}
	if cfg.Width != size || cfg.Height != size {
		t.Errorf("icon %s is %dx%d, want %dx%d", path, cfg.Width, cfg.Height, size, size)
	}
}

// desktopExec returns the Exec line of a desktop entry's [Desktop Entry] group
// split into arguments, with the field codes (%f, %U ...) a launcher would
// replace by files removed: the desktop starts Tally with none.
func desktopExec(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	group := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			group = line
			continue
		}
		if v, ok := strings.CutPrefix(line, "Exec="); ok && group == "[Desktop Entry]" {
			var argv []string
			for _, a := range strings.Fields(v) {
				if len(a) == 2 && a[0] == '%' {
					continue
				}
				argv = append(argv, a)
			}
			if len(argv) == 0 {
				t.Fatalf("%s: an empty Exec line", path)
			}
			return argv
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s has no Exec line in [Desktop Entry]", path)
	return nil
}
