package flv

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

func TestMain(m *testing.M) { peers.Main(m) }

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestTagHeadersGoldenBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"AVC keyframe, cts 67", AppendAVCTag(nil, true, AVCNALU, 67, []byte{0xaa}), "17 01 000043 aa"},
		{"AVC inter frame, negative cts", AppendAVCTag(nil, false, AVCNALU, -33, nil), "27 01 ffffdf"},
		{"AVC sequence header", AppendAVCTag(nil, false, AVCSequenceHeader, 0, []byte{1}), "17 00 000000 01"},
		{"HEVC SequenceStart", AppendEnhancedVideoTag(nil, FourCCHEVC, true, PacketSequenceStart, 0, []byte{1}), "90 68766331 01"},
		{"HEVC CodedFrames with cts", AppendEnhancedVideoTag(nil, FourCCHEVC, false, PacketCodedFrames, 40, []byte{2}), "a1 68766331 000028 02"},
		{"HEVC cts 0 becomes CodedFramesX", AppendEnhancedVideoTag(nil, FourCCHEVC, true, PacketCodedFrames, 0, []byte{3}), "93 68766331 03"},
		{"AV1 frames never carry cts, and go as CodedFrames", AppendEnhancedVideoTag(nil, FourCCAV1, false, PacketCodedFrames, 10, []byte{4}), "a1 61763031 04"},
		{"AAC raw", AppendAACTag(nil, AACRaw, []byte{0x21}), "af 01 21"},
	} {
		if want := unhex(tc.want); !bytes.Equal(tc.got, want) {
			t.Errorf("%s: got % x want % x", tc.name, tc.got, want)
		}
	}
}

func TestParseVideoTagReadsBothHeaderKinds(t *testing.T) {
	v, err := ParseVideoTag(unhex("a1 68766331 000028 02"))
	if err != nil || !v.Enhanced || v.Codec != "hevc" || v.CTS != 40 || v.FrameType != FrameInter || !bytes.Equal(v.Data, []byte{2}) {
		t.Errorf("enhanced: %+v %v", v, err)
	}
	v, err = ParseVideoTag(unhex("27 01 ffffdf 09"))
	if err != nil || v.Enhanced || v.Codec != "h264" || v.CTS != -33 {
		t.Errorf("legacy: %+v %v", v, err)
	}
}

func TestAudioSpecificConfigForAACLC(t *testing.T) {
	for _, tc := range []struct {
		rate, ch int
		want     string
	}{{44100, 2, "1210"}, {48000, 2, "1190"}, {48000, 1, "1188"}} {
		b, err := AudioSpecificConfig(2, tc.rate, tc.ch)
		if err != nil || hex.EncodeToString(b) != tc.want {
			t.Errorf("%d Hz %d ch: got %x, %v; want %s", tc.rate, tc.ch, b, err, tc.want)
		}
		c, err := ParseAudioSpecificConfig(b)
		if err != nil || c.SampleRate != tc.rate || c.Channels != tc.ch || c.ObjectType != 2 {
			t.Errorf("parse back: %+v %v", c, err)
		}
	}
	if _, err := AudioSpecificConfig(2, 44000, 2); err == nil {
		t.Error("44000 Hz accepted")
	}
}

func TestSplitAnnexBHandlesThreeAndFourByteStartCodes(t *testing.T) {
	var nals []string
	SplitAnnexB(unhex("00000001 6742 000001 68ce 00000001 6588 00"), func(n []byte) { nals = append(nals, hex.EncodeToString(n)) })
	if strings.Join(nals, ",") != "6742,68ce,658800" {
		t.Fatalf("got %v", nals)
	}
}

// readFixture returns the AVC sequence header and frames of an FFmpeg encode.
func readFixture(t *testing.T) (cfg AVCConfig, frames []VideoTag) {
	t.Helper()
	f, err := os.Open(peers.FixtureFLV(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	for {
		tag, err := r.Next()
		if errors.Is(err, io.EOF) {
			return cfg, frames
		}
		if err != nil {
			t.Fatal(err)
		}
		if tag.Type != TagVideo {
			continue
		}
		v, err := ParseVideoTag(tag.Data)
		if err != nil {
			t.Fatal(err)
		}
		if v.Header {
			if cfg, err = ParseAVCConfig(v.Data); err != nil {
				t.Fatal(err)
			}
		} else if v.PacketType == AVCNALU {
			frames = append(frames, v)
		}
	}
}

// An encoder's Annex-B output converts to exactly the length-prefixed frames and
// decoder configuration record FFmpeg's own FLV muxer writes.
func TestAnnexBConvertsLikeFFmpegsMuxer(t *testing.T) {
	cfg, frames := readFixture(t)
	if len(cfg.SPS) != 1 || len(cfg.PPS) != 1 || len(frames) != 60 {
		t.Fatalf("fixture: %d SPS, %d PPS, %d frames", len(cfg.SPS), len(cfg.PPS), len(frames))
	}
	rec, err := AVCDecoderConfigurationRecord(cfg.SPS[0], cfg.PPS[0])
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseAVCConfig(rec)
	if err != nil || !bytes.Equal(back.SPS[0], cfg.SPS[0]) || !bytes.Equal(back.PPS[0], cfg.PPS[0]) || back.LengthSize != 4 {
		t.Fatalf("record does not round-trip: %+v %v", back, err)
	}
	keyframes, disposable := 0, 0
	for i, fr := range frames {
		// Rebuild the Annex-B access unit an encoder would emit, with parameter sets
		// in front of keyframes as libx264 does.
		var annexB []byte
		if fr.FrameType == FrameKey {
			annexB = append(annexB, 0, 0, 0, 1)
			annexB = append(annexB, cfg.SPS[0]...)
			annexB = append(annexB, 0, 0, 0, 1)
			annexB = append(annexB, cfg.PPS[0]...)
		}
		if err := WalkAVCC(fr.Data, 4, func(nal []byte) {
			annexB = append(annexB, 0, 0, 1)
			annexB = append(annexB, nal...)
		}); err != nil {
			t.Fatal(err)
		}
		got := AppendAVCC(nil, annexB)
		if got.Keyframe != (fr.FrameType == FrameKey) {
			t.Errorf("frame %d: keyframe %v, FLV says frame type %d", i, got.Keyframe, fr.FrameType)
		}
		if got.Keyframe {
			keyframes++
			if !bytes.Equal(got.SPS, cfg.SPS[0]) || !bytes.Equal(got.PPS, cfg.PPS[0]) {
				t.Errorf("frame %d: parameter sets not found", i)
			}
		}
		if got.Disposable {
			disposable++
		}
		// FFmpeg's FLV keeps the SEI (x264's settings) in the first frame; compare the rest.
		if !bytes.Equal(stripSEI(got.Data), stripSEI(fr.Data)) {
			t.Fatalf("frame %d: AVCC differs from FFmpeg's", i)
		}
	}
	if keyframes != 1 || disposable == 0 {
		t.Errorf("%d keyframes, %d disposable frames; want 1 and some B-frames marked disposable", keyframes, disposable)
	}
}

func stripSEI(avcc []byte) []byte {
	var out []byte
	_ = WalkAVCC(avcc, 4, func(nal []byte) {
		if nal[0]&0x1f != NALSEI {
			out = append(out, nal...)
		}
	})
	return out
}

func TestParseSPSOfRealEncodes(t *testing.T) {
	cfg, _ := readFixture(t)
	info, err := ParseSPS(cfg.SPS[0])
	if err != nil || info.Width != 640 || info.Height != 360 || info.ChromaFormat != 1 {
		t.Fatalf("got %+v, %v", info, err)
	}
	// 1920x1080 needs cropping from 1088: a classic parser bug.
	sps := unhex("6764002aacd940780227e5c04400000300040000030f03c60c6580")
	info, err = ParseSPS(sps)
	if err != nil || info.Width != 1920 || info.Height != 1080 {
		t.Fatalf("1080p SPS: %+v %v", info, err)
	}
}

func TestFLVFileRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, true, true)
	if err != nil {
		t.Fatal(err)
	}
	tags := []Tag{{TagScript, 0, []byte{2, 0, 1, 'x'}}, {TagVideo, 0x01020304, []byte{0x17, 0}}, {TagAudio, 5, bytes.Repeat([]byte{1}, 1000)}}
	for _, tg := range tags {
		if err := w.WriteTag(tg); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	r, err := NewReader(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range tags {
		got, err := r.Next()
		if err != nil || got.Type != want.Type || got.Timestamp != want.Timestamp || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("tag %d: got %+v, %v", i, got, err)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last tag: %v", err)
	}
}

func TestFLVReaderBoundsTagSize(t *testing.T) {
	in := append(unhex("464c5601 05 00000009 00000000"), unhex("09 ffffff 00000000 000000")...)
	r, err := NewReader(bytes.NewReader(in), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseSPS(f *testing.F) {
	f.Add(unhex("6764002aacd940780227e5c04400000300040000030f03c60c6580"))
	f.Add(unhex("6742c01e95a0500f"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseSPS(b) })
}

func FuzzParseAVCConfig(f *testing.F) {
	rec, _ := AVCDecoderConfigurationRecord(unhex("6764002aacd940780227e5c04400000300040000030f03c60c6580"), unhex("68ebe3cb22c0"))
	f.Add(rec)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCConfig(b)
		if err == nil {
			for _, s := range c.SPS {
				_, _ = ParseSPS(s)
			}
		}
	})
}

func FuzzParseTags(f *testing.F) {
	f.Add(unhex("a1 68766331 000028 02"))
	f.Add(unhex("17 00 000000 01640028ffe1"))
	f.Add(unhex("af 00 1210"))
	// Enhanced RTMP v2: HEVC and AV1 frames, multitrack of each layout,
	// ModEx prefixes, commands and metadata.
	f.Add(unhex("90 68766331 0101600000009000000000003cf000fcfdf8f8000003"))
	f.Add(unhex("93 61763031 0a0e000000043cfecc02f81010101040 320500aabbccdd"))
	f.Add(AppendMultitrackVideoTag(nil, FourCCHEVC, 1, true, PacketCodedFrames, 40, unhex("00000003 2601af")))
	f.Add(AppendMultitrackVideoTag(nil, FourCCAV1, 2, false, PacketSequenceStart, 0, unhex("81000c00")))
	f.Add(unhex("96 11 68766331 00 000005 000028 aabb 01 000004 ffffff cc"))
	f.Add(unhex("a6 23 61763031 00 000002 ddee 68766331 01 000001 ff 61766331 02 000000"))
	f.Add(unhex("97 02 0f423f 01 68766331 000028 aa"))
	f.Add(unhex("a7 00 ee 07 ff 0001" + strings.Repeat("00", 2) + " 06 03 61763031 05 32"))
	f.Add(unhex("d4 68766331 0200"))
	f.Add(unhex("d0 01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVideoTag(b)
		if err == nil && v.Codec == "h264" && !v.Header {
			_ = WalkAVCC(v.Data, 4, func([]byte) {})
		}
		tracks, terr := ParseVideoTracks(b)
		if (err == nil) != (terr == nil && len(tracks) == 1) && !errors.Is(err, ErrManyTracks) {
			t.Fatalf("ParseVideoTag says %v, ParseVideoTracks %d tracks, %v", err, len(tracks), terr)
		}
		if err == nil && !sameVideoTag(v, tracks[0]) {
			t.Fatalf("ParseVideoTag %+v, ParseVideoTracks %+v", v, tracks[0])
		}
		if _, rerr := RoleOf(Tag{Type: TagVideo, Data: b}); (rerr == nil) != (terr == nil) {
			t.Fatalf("RoleOf says %v, ParseVideoTracks %v", rerr, terr)
		}
		if a, err := ParseAudioTag(b); err == nil && a.Header {
			_, _ = ParseAudioSpecificConfig(a.Data)
		}
		AppendAVCC(nil, b)
		AppendLengthPrefixed(nil, b)
		_, _ = AppendAV1TemporalUnit(nil, b)
	})
}

func FuzzFLVReader(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, true, true)
	_ = w.WriteTag(Tag{TagVideo, 40, []byte{0x17, 1, 0, 0, 0}})
	w.Flush()
	f.Add(buf.Bytes())
	// An Enhanced RTMP v2 file: HEVC on the first track, AV1 on a second.
	buf.Reset()
	w, _ = NewWriter(&buf, false, true)
	_ = w.WriteTag(Tag{TagVideo, 0, AppendEnhancedVideoTag(nil, FourCCHEVC, true, PacketSequenceStart, 0, []byte{1})})
	_ = w.WriteTag(Tag{TagVideo, 0, AppendMultitrackVideoTag(nil, FourCCAV1, 1, true, PacketSequenceStart, 0, []byte{0x81})})
	_ = w.WriteTag(Tag{TagVideo, 33, AppendMultitrackVideoTag(nil, FourCCAV1, 1, false, PacketCodedFrames, 0, []byte{0x32, 0})})
	w.Flush()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		for i := 0; i < 100; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

func TestCaptureTimeSEIRoundTrip(t *testing.T) {
	at := time.Unix(1795337393, 123456789)
	payload := AppendCaptureTime(nil, at)
	// An SEI NAL as x264 writes it: type 5, size 24, payload, with an emulation
	// prevention byte where the payload holds 00 00 0x.
	payload[20], payload[21], payload[22] = 0, 0, 1
	want := time.Unix(0, int64(binary.BigEndian.Uint64(payload[16:24])))
	var rbsp []byte
	rbsp = append(rbsp, 5, byte(len(payload)))
	rbsp = append(rbsp, payload...)
	rbsp = append(rbsp, 0x80)
	nal := []byte{0x06}
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			nal, zeros = append(nal, 3), 0
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		nal = append(nal, c)
	}
	avcc := binary.BigEndian.AppendUint32(nil, uint32(len(nal)))
	avcc = append(avcc, nal...)
	avcc = append(avcc, 0, 0, 0, 2, 0x65, 0x88) // and a slice
	got, ok := CaptureTime(avcc)
	if !ok || !got.Equal(want) {
		t.Fatalf("got %v %v, want %v", got, ok, want)
	}
	if _, ok := CaptureTime([]byte{0, 0, 0, 2, 0x65, 0x88}); ok {
		t.Fatal("found a capture time in a frame without one")
	}
}

// splitByteByByte is the plain reading of Annex B's framing, kept as the
// reference SplitAnnexB's vectorised search must agree with.
func splitByteByByte(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			end := i
			for end > start && b[end-1] == 0 {
				end--
			}
			if end > start {
				out = append(out, b[start:end])
			}
		}
		i += 2
		start = i + 1
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	} else if start < 0 && len(b) > 0 {
		out = append(out, b)
	}
	return out
}

func FuzzSplitAnnexBAgreesWithByteScan(f *testing.F) {
	for _, s := range [][]byte{
		{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0, 0},
		{0, 0, 1}, {0, 0, 1, 0, 0, 1}, {0x65, 1, 2}, {0, 0}, {},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got [][]byte
		SplitAnnexB(b, func(n []byte) { got = append(got, n) })
		want := splitByteByByte(b)
		if len(got) != len(want) {
			t.Fatalf("%d NAL units, the byte scan finds %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("NAL unit %d is % x, the byte scan's % x", i, got[i], want[i])
			}
		}
	})
}
