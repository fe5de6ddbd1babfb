package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// NginxRTMPAvailable says why nginx with the RTMP module cannot be started
// here, or nil when it can: for tests that skip rather than fail without it.
func NginxRTMPAvailable() error {
	if _, err := exec.LookPath("nginx"); err != nil {
		return fmt.Errorf("nginx is not installed: %w", err)
	}
	mod := filepath.Join(nginxModules, "ngx_rtmp_module.so")
	if _, err := os.Stat(mod); err != nil {
		return fmt.Errorf("the nginx RTMP module is not installed: %w", err)
	}
	return nil
}

// StartNginxVOD starts nginx with an application "vod" that plays the
// recorded files in dir (nginx-rtmp's `play` directive: a file NAME.flv is
// played as stream NAME.flv), next to the usual live application "live". Only
// recorded streams honour pause and seek in nginx-rtmp; this is the server
// that shows whether a client's pause and seek work.
func StartNginxVOD(t testing.TB, dir string) *Nginx {
	t.Helper()
	bin := Require(t, "nginx")
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := &Nginx{dir: t.TempDir(), Port: FreePort(t)}
	conf := fmt.Sprintf(`load_module %[1]s;
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
    }
    application vod {
      play %[4]s;
    }
  }
}
`, filepath.Join(nginxModules, "ngx_rtmp_module.so"), n.dir, n.Port, abs)
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
	WaitListening(t, n.Port, 10*time.Second)
	return n
}

// VODURL is the RTMP URL of application "vod" (StartNginxVOD).
func (n *Nginx) VODURL() string { return "rtmp://127.0.0.1:" + strconv.Itoa(n.Port) + "/vod" }
