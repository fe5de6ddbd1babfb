package peers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Nginx is nginx with the RTMP module, started for one test.
type Nginx struct {
	Port      int    // RTMP port on 127.0.0.1
	TLSPort   int    // RTMPS port (stream module terminating TLS), 0 when off
	RecordDir string // where application "live" records, "" when off
	CAFile    string // the CA that signed the TLS certificate, when TLS is on
	dir       string
	cmd       *exec.Cmd
	log       *testLog
}

// NginxOptions choose what the test server does.
type NginxOptions struct {
	Record bool // record every stream published to "live" into RecordDir
	TLS    bool // also listen for RTMPS, with a certificate for "localhost"
	// OnPublish, when set, is the URL nginx asks before taking a publish;
	// any answer but 2xx makes it drop the connection without a word, as
	// ingests that check keys behind an HTTP callback do.
	OnPublish string
	// PlayDir, when set, is served as application "vod" (nginx-rtmp's `play`:
	// a file NAME.flv plays as stream NAME.flv). Only recorded streams honour
	// pause and seek in nginx-rtmp.
	PlayDir string
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nginxModules is where Debian's packages put dynamic modules.
const nginxModules = "/usr/lib/nginx/modules"

// StartNginx writes a config for free loopback ports, starts nginx in the
// foreground, waits until it accepts connections, and stops it when the test ends.
// Most of its length is the config it writes, kept in one piece to read as nginx does.
func StartNginx(t testing.TB, o NginxOptions) *Nginx {
	t.Helper()
	bin := Require(t, "nginx")
	n := &Nginx{dir: t.TempDir(), Port: FreePort(t)}
	record := "record off;"
	if o.Record {
		n.RecordDir = filepath.Join(n.dir, "rec")
		if err := os.MkdirAll(n.RecordDir, 0o777); err != nil {
			t.Fatal(err)
		}
		// nginx's worker may drop to another user; let it write.
		_ = os.Chmod(n.dir, 0o755)
		record = fmt.Sprintf("record all; record_path %s; record_unique off;", n.RecordDir)
	}
	if o.OnPublish != "" {
		record += "\n      on_publish " + o.OnPublish + ";"
	}
	vod := ""
	if o.PlayDir != "" {
		abs, err := filepath.Abs(o.PlayDir)
		if err != nil {
			t.Fatal(err)
		}
		vod = "application vod { play " + abs + "; }"
	}
	stream := ""
	modules := "load_module " + filepath.Join(nginxModules, "ngx_rtmp_module.so") + ";\n"
	if o.TLS {
		n.TLSPort = FreePort(t)
		c := WriteCert(t, n.dir)
		n.CAFile = c.CAFile
		cert, key := c.CertFile, c.KeyFile
		modules += "load_module " + filepath.Join(nginxModules, "ngx_stream_module.so") + ";\n"
		stream = fmt.Sprintf(`stream {
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    proxy_pass 127.0.0.1:%d;
  }
}`, n.TLSPort, cert, key, n.Port)
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process off;
worker_processes 1;
user root;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:%[3]d;
    chunk_size 4096;
    ping 5s;
    application live {
      live on;
      %[4]s
    }
    %[6]s
  }
}
%[5]s
`, modules, n.dir, n.Port, record, stream, vod)
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.log = newTestLog(t, "nginx")
	n.cmd = exec.Command(bin, "-p", n.dir, "-e", filepath.Join(n.dir, "error.log"), "-c", confPath)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		stop(n.cmd)
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(n.dir, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", tail(b, 4000))
			}
		}
	})
	for _, port := range []int{n.Port, n.TLSPort} {
		if port != 0 {
			WaitListening(t, port, 10*time.Second)
		}
	}
	return n
}

// Restart stops nginx and starts it again on the same ports and config.
func (n *Nginx) Restart(t testing.TB) {
	t.Helper()
	n.Stop()
	args := n.cmd.Args
	n.cmd = exec.Command(args[0], args[1:]...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("restart nginx: %v", err)
	}
	WaitListening(t, n.Port, 10*time.Second)
}

// Stop stops nginx now (tests of what happens when the server goes away).
func (n *Nginx) Stop() { stop(n.cmd) }

// URL is the RTMP URL of application "live".
func (n *Nginx) URL() string { return "rtmp://127.0.0.1:" + strconv.Itoa(n.Port) + "/live" }

// VODURL is the RTMP URL of application "vod" (NginxOptions.PlayDir).
func (n *Nginx) VODURL() string { return "rtmp://127.0.0.1:" + strconv.Itoa(n.Port) + "/vod" }

// TLSURL is the RTMPS URL of application "live", by the certificate's host name.
func (n *Nginx) TLSURL() string { return "rtmps://localhost:" + strconv.Itoa(n.TLSPort) + "/live" }

// Recording is the path nginx records a stream name to.
func (n *Nginx) Recording(name string) string { return filepath.Join(n.RecordDir, name+".flv") }

// ErrorLog returns nginx's error log so far.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return string(b)
}

// publishConn finds the connection number of each publish in the error log.
var publishConn = regexp.MustCompile(`\*(\d+) publish:`)

// Unpublished says whether every connection that published has ended its
// stream (deleteStream), so that the recordings are complete. The log's
// other connections do not count: WaitListening's own probe, for one, logs
// a deleteStream as it hangs up, before anything was published.
func (n *Nginx) Unpublished() bool {
	log := n.ErrorLog()
	m := publishConn.FindAllStringSubmatch(log, -1)
	for _, c := range m {
		if !strings.Contains(log, "*"+c[1]+" deleteStream") {
			return false
		}
	}
	return len(m) > 0
}

// PublisherLog is the error log's lines about the last connection that
// published, "" when none has.
func (n *Nginx) PublisherLog() string {
	log := n.ErrorLog()
	m := publishConn.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "*"+m[len(m)-1][1]+" ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// WaitListening waits until something accepts TCP connections on the port.
func WaitListening(t testing.TB, port int, within time.Duration) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %v: %v", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
