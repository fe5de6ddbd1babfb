// Package bench compares Tally's RTMP send path with other Go RTMP clients.
// It is a module of its own so that those clients never enter the app's go.mod.
package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	gmsg "github.com/bluenviron/gortmplib/pkg/message"
	"github.com/sirupsen/logrus"
	gortmp "github.com/yutopp/go-rtmp"
	ymsg "github.com/yutopp/go-rtmp/message"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// stream is 60 s of a 6 Mb/s, 30 fps stream with 48 kHz AAC: the FLV tag
// bodies every client sends, built once.
type packet struct {
	video, key bool
	dts        int64  // ms
	body       []byte // the FLV tag body (5-byte AVC or 2-byte AAC header first)
}

func stream() ([]packet, int64) {
	var out []packet
	var total int64
	audioNext := 0.0
	for i := range 60 * 30 {
		dts := int64(i) * 1000 / 30
		for audioNext <= float64(dts) {
			b := make([]byte, 2+400)
			b[0], b[1] = 0xaf, 1
			out = append(out, packet{dts: int64(audioNext), body: b})
			total += int64(len(b))
			audioNext += 1024.0 * 1000 / 48000
		}
		b := make([]byte, 5+25_000)
		key := i%60 == 0
		b[0], b[1] = 0x27, 1
		if key {
			b[0] = 0x17
		}
		binary.BigEndian.PutUint32(b[5:], 25_000-4) // one NAL unit, AVCC
		out = append(out, packet{video: true, key: key, dts: dts, body: b})
		total += int64(len(b))
	}
	return out, total
}

// quiet keeps go-rtmp's info logs (it logs each chunk size change to stdout)
// out of the benchmark output, where they split the result lines.
// Some of its logging goes through logrus' standard logger, so that is
// silenced too.
var quiet = func() *logrus.Logger {
	logrus.SetOutput(io.Discard)
	l := logrus.New()
	l.Out = io.Discard
	return l
}()

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run times publish over b.N streams and reports MB/s and CPU per GB sent,
// and the size of the stream itself: scripts/bench quotes those two in the
// report, so they come from the stream this benchmark sent, not from a copy.
func run(b *testing.B, publish func(pkts []packet)) {
	pkts, total := stream()
	b.SetBytes(total)
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	for range b.N {
		publish(pkts)
	}
	b.StopTimer()
	gb := float64(total) * float64(b.N) / 1e9
	b.ReportMetric((cpuTime()-cpu).Seconds()/gb, "cpu-s/GB")
	// After the loop: ResetTimer drops metrics reported before it.
	b.ReportMetric(float64(len(pkts)), "msgs/op")
	b.ReportMetric(float64(total)/1e6, "payload-MB/op")
}

// The server is nginx-rtmp in its own process, so only the client's CPU is
// counted; it reads and drops everything (no players, no recording).
func BenchmarkSendPath(b *testing.B) {
	ng := peers.StartNginx(b, peers.NginxOptions{})
	addr := "127.0.0.1:" + strconv.Itoa(ng.Port)
	name := 0
	next := func() string { name++; return fmt.Sprintf("bench%d", name) }

	b.Run("tally", func(b *testing.B) {
		run(b, func(pkts []packet) {
			ep, err := rtmpclient.ParseURL("rtmp://"+addr+"/live", next())
			if err != nil {
				b.Fatal(err)
			}
			p := rtmpclient.NewPublisher(rtmpclient.PublisherConfig{Endpoint: ep, DropThreshold: 5 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			for _, pk := range pkts {
				typ := uint8(rtmpclient.TypeAudio)
				if pk.video {
					typ = rtmpclient.TypeVideo
				}
				if err := p.WriteWait(ctx, rtmpclient.Packet{Type: typ, DTS: pk.dts, Payload: pk.body, Keyframe: pk.key}); err != nil {
					b.Fatal(err)
				}
			}
			for p.Stats().QueuePackets > 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	})

	b.Run("gortmplib", func(b *testing.B) {
		run(b, func(pkts []packet) {
			u, _ := url.Parse("rtmp://" + addr + "/live/" + next())
			c := &gortmplib.Client{URL: u, Publish: true}
			if err := c.Initialize(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for _, pk := range pkts {
				var m gmsg.Message
				if pk.video {
					m = &gmsg.Video{ChunkStreamID: gmsg.VideoChunkStreamID, MessageStreamID: 0x1000000,
						DTS: time.Duration(pk.dts) * time.Millisecond, Codec: gmsg.CodecH264, IsKeyFrame: pk.key,
						Type: gmsg.VideoTypeAU, Payload: pk.body[5:]}
				} else {
					m = &gmsg.Audio{ChunkStreamID: gmsg.AudioChunkStreamID, MessageStreamID: 0x1000000,
						DTS: time.Duration(pk.dts) * time.Millisecond, Codec: gmsg.CodecMPEG4Audio,
						Rate: gmsg.Rate44100, Depth: gmsg.Depth16, IsStereo: true, AACType: gmsg.AudioAACTypeAU,
						Payload: pk.body[2:]}
				}
				if err := c.Write(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	})

	b.Run("go-rtmp", func(b *testing.B) {
		run(b, func(pkts []packet) {
			c, err := gortmp.Dial("rtmp", addr, &gortmp.ConnConfig{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(&ymsg.NetConnectionConnect{Command: ymsg.NetConnectionConnectCommand{App: "live",
				TCURL: "rtmp://" + addr + "/live", FlashVer: "FMLE/3.0"}}); err != nil {
				b.Fatal(err)
			}
			s, err := c.CreateStream(nil, 4096)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Publish(&ymsg.NetStreamPublish{PublishingName: next(), PublishingType: "live"}); err != nil {
				b.Fatal(err)
			}
			for _, pk := range pkts {
				var m ymsg.Message = &ymsg.AudioMessage{Payload: bytes.NewReader(pk.body)}
				csid := 4
				if pk.video {
					m, csid = &ymsg.VideoMessage{Payload: bytes.NewReader(pk.body)}, 6
				}
				if err := s.Write(csid, uint32(pk.dts), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
