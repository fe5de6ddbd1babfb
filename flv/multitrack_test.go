package flv

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestFourCCNumberAndFor(t *testing.T) {
	for _, tc := range []struct {
		codec  string
		fourcc FourCC
		number float64
	}{{"h264", FourCCAVC, 1635148593}, {"hevc", FourCCHEVC, 1752589105}, {"av1", FourCCAV1, 1635135537}} {
		fc, ok := FourCCFor(tc.codec)
		if !ok || fc != tc.fourcc || fc.Number() != tc.number {
			t.Errorf("%s: FourCCFor gives %q, %v, number %.0f; want %q, number %.0f", tc.codec, fc, ok, fc.Number(), tc.fourcc, tc.number)
		}
	}
	if fc, ok := FourCCFor("vp9"); ok {
		t.Errorf("vp9 has FourCC %q", fc)
	}
}

// The bytes of multitrack tags as the Enhanced RTMP v2 specification lays
// them out (Enhanced Video, ExVideoTagHeader and ExVideoTagBody): isExHeader,
// frame type and packet type Multitrack (6); multitrack type and the tracks'
// packet type; FourCC; trackId; then the body of that packet type.
func TestMultitrackTagGoldenBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"HEVC SequenceStart, track 1", AppendMultitrackVideoTag(nil, FourCCHEVC, 1, false, PacketSequenceStart, 0, []byte{1, 2}),
			"96 00 68766331 01 0102"},
		{"HEVC keyframe with cts 40, track 2", AppendMultitrackVideoTag(nil, FourCCHEVC, 2, true, PacketCodedFrames, 40, []byte{0xaa}),
			"96 01 68766331 02 000028 aa"},
		{"HEVC inter frame, negative cts", AppendMultitrackVideoTag(nil, FourCCHEVC, 0, false, PacketCodedFrames, -33, nil),
			"a6 01 68766331 00 ffffdf"},
		{"HEVC cts 0 becomes CodedFramesX", AppendMultitrackVideoTag(nil, FourCCHEVC, 3, false, PacketCodedFrames, 0, []byte{0xbb}),
			"a6 03 68766331 03 bb"},
		{"AV1 frames never carry cts, and go as CodedFrames", AppendMultitrackVideoTag(nil, FourCCAV1, 1, true, PacketCodedFrames, 10, []byte{0x32}),
			"96 01 61763031 01 32"},
		{"AVC keeps its cts", AppendMultitrackVideoTag(nil, FourCCAVC, 4, false, PacketCodedFrames, 67, []byte{0x41}),
			"a6 01 61766331 04 000043 41"},
		{"AV1 SequenceEnd", AppendMultitrackVideoTag(nil, FourCCAV1, 1, false, PacketSequenceEnd, 0, nil),
			"a6 02 61763031 01"},
	} {
		if want := unhex(tc.want); !bytes.Equal(tc.got, want) {
			t.Errorf("%s: got % x want % x", tc.name, tc.got, want)
		}
	}
}

// Tags as the specification lays them out, including what Tally never sends
// (several tracks in one tag, ModEx prefixes, commands), parse into their
// tracks.
func TestParseVideoTracksOfEveryLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []VideoTag
	}{
		{"legacy AVC", "17 01 000043 aa",
			[]VideoTag{{FrameType: FrameKey, Codec: "h264", PacketType: AVCNALU, CTS: 67, Data: []byte{0xaa}}}},
		{"enhanced, one track", "a1 68766331 000028 02",
			[]VideoTag{{Enhanced: true, FrameType: FrameInter, Codec: "hevc", PacketType: PacketCodedFrames, CTS: 40, Data: []byte{2}}}},
		{"multitrack OneTrack", "96 00 68766331 07 0102",
			[]VideoTag{{Enhanced: true, FrameType: FrameKey, Codec: "hevc", PacketType: PacketSequenceStart, Header: true,
				Data: []byte{1, 2}, Multitrack: true, TrackID: 7}}},
		{"ManyTracks: one FourCC, a size per track", "96 11 68766331  00 000005 000028 aabb  01 000004 ffffff cc",
			[]VideoTag{
				{Enhanced: true, FrameType: FrameKey, Codec: "hevc", PacketType: PacketCodedFrames, CTS: 40, Data: []byte{0xaa, 0xbb}, Multitrack: true},
				{Enhanced: true, FrameType: FrameKey, Codec: "hevc", PacketType: PacketCodedFrames, CTS: -1, Data: []byte{0xcc}, Multitrack: true, TrackID: 1}}},
		{"ManyTracksManyCodecs: a FourCC per track", "a6 23  61763031 00 000002 ddee  68766331 01 000001 ff  61766331 02 000000",
			[]VideoTag{
				{Enhanced: true, FrameType: FrameInter, Codec: "av1", PacketType: PacketCodedFramesX, Data: []byte{0xdd, 0xee}, Multitrack: true},
				{Enhanced: true, FrameType: FrameInter, Codec: "hevc", PacketType: PacketCodedFramesX, Data: []byte{0xff}, Multitrack: true, TrackID: 1},
				{Enhanced: true, FrameType: FrameInter, Codec: "h264", PacketType: PacketCodedFramesX, Data: []byte{}, Multitrack: true, TrackID: 2}}},
		{"ModEx (a nanosecond offset) before CodedFrames", "97 02 0f423f 01 68766331 000028 aa",
			[]VideoTag{{Enhanced: true, FrameType: FrameKey, Codec: "hevc", PacketType: PacketCodedFrames, CTS: 40, Data: []byte{0xaa}}}},
		{"two ModEx, the second with a 16-bit size, before Multitrack", "a7 00 ee 07 ff 0100" + strings.Repeat("00", 257) + " 06 03 61763031 05 32",
			[]VideoTag{{Enhanced: true, FrameType: FrameInter, Codec: "av1", PacketType: PacketCodedFramesX, Data: []byte{0x32}, Multitrack: true, TrackID: 5}}},
		{"Metadata keeps its FourCC", "d4 68766331 0200",
			[]VideoTag{{Enhanced: true, FrameType: FrameCommand, Codec: "hevc", PacketType: PacketMetadata, Data: []byte{2, 0}}}},
		{"a command frame has no FourCC", "d0 01",
			[]VideoTag{{Enhanced: true, FrameType: FrameCommand, Data: []byte{1}}}},
		{"an unknown FourCC's frames are opaque", "91 76703039 0a0b",
			[]VideoTag{{Enhanced: true, FrameType: FrameKey, Codec: `fourcc "vp09"`, PacketType: PacketCodedFrames, Data: []byte{0x0a, 0x0b}}}},
	} {
		got, err := ParseVideoTracks(unhex(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d tracks, want %d: %+v", tc.name, len(got), len(tc.want), got)
			continue
		}
		for i := range got {
			if !sameVideoTag(got[i], tc.want[i]) {
				t.Errorf("%s: track %d is\n%+v, want\n%+v", tc.name, i, got[i], tc.want[i])
			}
		}
		one, err := ParseVideoTag(unhex(tc.in))
		switch {
		case len(tc.want) == 1 && (err != nil || !sameVideoTag(one, tc.want[0])):
			t.Errorf("%s: ParseVideoTag gives %+v, %v", tc.name, one, err)
		case len(tc.want) > 1 && !errors.Is(err, ErrManyTracks):
			t.Errorf("%s: ParseVideoTag of %d tracks gives %v, want ErrManyTracks", tc.name, len(tc.want), err)
		}
	}
}

func sameVideoTag(a, b VideoTag) bool {
	return a.Enhanced == b.Enhanced && a.FrameType == b.FrameType && a.Codec == b.Codec && a.PacketType == b.PacketType &&
		a.Header == b.Header && a.CTS == b.CTS && a.Multitrack == b.Multitrack && a.TrackID == b.TrackID && bytes.Equal(a.Data, b.Data)
}

// Every way a tag can be cut short or lie about its sizes is an error that
// says what is wrong, never a panic or a read past the end.
func TestParseVideoTracksRefusesMalformedTags(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty tag"},
		{"96", "multitrack type"},
		{"96 00 687663", "FourCC"},
		{"96 00 68766331", "trackId"},
		{"96 01 68766331 00", "composition time"},
		{"96 11 68766331 00 0000", "size"},
		{"96 11 68766331 00 000009 000028 aa", "9 bytes, 4 left"},
		{"96 11 68766331 00 000004 000028 aa 01", "size"},
		{"96 21 687663", "FourCC"},
		{"96 31 68766331 00", "reserved multitrack type 3"},
		{"96 06 68766331 00", "packet type 6"},
		{"96 07 68766331 00", "packet type 7"},
		{"97", "ModEx"},
		{"97 ff 00", "16-bit size"},
		{"97 04 0102", "ModEx of 5 bytes"},
		{"97 00 00", "ModEx of 1 bytes, 1 left"},
		{"d0", "command"},
		{"91 6876", "FourCC"},
		{"17 01", "AVC header"},
	} {
		_, err := ParseVideoTracks(unhex(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("% x: got %v, want an error about %q", unhex(tc.in), err, tc.want)
		}
		if _, err2 := ParseVideoTag(unhex(tc.in)); err2 == nil {
			t.Errorf("% x: ParseVideoTag accepts what ParseVideoTracks refuses", unhex(tc.in))
		}
	}
}

// A multitrack tag Tally builds parses back to what went in, for every codec
// and packet type it sends.
func TestMultitrackTagsRoundTrip(t *testing.T) {
	for _, fc := range []FourCC{FourCCAVC, FourCCHEVC, FourCCAV1} {
		for _, pt := range []byte{PacketSequenceStart, PacketCodedFrames, PacketSequenceEnd} {
			for _, key := range []bool{false, true} {
				for _, cts := range []int32{0, 33, -8388608, 8388607} {
					data := []byte{9, 8, 7}
					v, err := ParseVideoTag(AppendMultitrackVideoTag(nil, fc, 200, key, pt, cts, data))
					wantCTS, wantPT := cts, pt
					if pt != PacketCodedFrames || fc == FourCCAV1 {
						wantCTS = 0
					}
					if pt == PacketCodedFrames && wantCTS == 0 && fc != FourCCAV1 {
						wantPT = PacketCodedFramesX
					}
					wantKey := key || pt == PacketSequenceStart
					if err != nil || !v.Multitrack || v.TrackID != 200 || v.Codec != codecOf(fc) || v.PacketType != wantPT ||
						v.CTS != wantCTS || (v.FrameType == FrameKey) != wantKey || v.Header != (pt == PacketSequenceStart) || !bytes.Equal(v.Data, data) {
						t.Errorf("%s packet type %d key %v cts %d: parsed %+v, %v", fc, pt, key, cts, v, err)
					}
				}
			}
		}
	}
}

// RoleOf tells sequence headers and keyframes in multitrack tags as in
// single-track ones; the end of a sequence and commands are no media.
func TestRoleOfMultitrackTags(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want Role
	}{
		{"OneTrack SequenceStart", AppendMultitrackVideoTag(nil, FourCCHEVC, 1, false, PacketSequenceStart, 0, []byte{1}), Role{Media: true, Header: true}},
		{"OneTrack keyframe", AppendMultitrackVideoTag(nil, FourCCHEVC, 1, true, PacketCodedFrames, 40, []byte{1}), Role{Media: true, Keyframe: true}},
		{"OneTrack inter frame", AppendMultitrackVideoTag(nil, FourCCAV1, 1, false, PacketCodedFrames, 0, []byte{1}), Role{Media: true}},
		{"OneTrack SequenceEnd", AppendMultitrackVideoTag(nil, FourCCAV1, 1, false, PacketSequenceEnd, 0, nil), Role{}},
		{"ManyTracks keyframes", unhex("96 13 68766331 00 000001 aa 01 000001 bb"), Role{Media: true, Keyframe: true}},
		{"ManyTracksManyCodecs headers", unhex("96 20 61763031 00 000001 81 68766331 01 000001 01"), Role{Media: true, Header: true}},
		{"enhanced SequenceEnd", AppendEnhancedVideoTag(nil, FourCCHEVC, false, PacketSequenceEnd, 0, nil), Role{}},
		{"Metadata", unhex("d4 68766331 0200"), Role{Media: true}},
		{"command", unhex("d0 01"), Role{}},
		{"legacy AVC keyframe", AppendAVCTag(nil, true, AVCNALU, 0, []byte{1}), Role{Media: true, Keyframe: true}},
	} {
		got, err := RoleOf(Tag{Type: TagVideo, Data: tc.in})
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := RoleOf(Tag{Type: TagVideo, Data: unhex("96 11 68766331 00 000009")}); err == nil {
		t.Error("a track past the end of its tag has a role")
	}
}

// ffmpeg8 is the path of FFmpeg 8's own program (ffmpeg or ffprobe), which
// scripts/ffmpeg builds and names in TALLY_FFMPEG_BIN; Debian's 5.1 knows no
// Enhanced RTMP. The test skips under -short and without it.
func ffmpeg8(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs FFmpeg 8's %s: skipped under -short", name)
	}
	dir := os.Getenv("TALLY_FFMPEG_BIN")
	if dir == "" {
		t.Skipf("needs FFmpeg 8's %s: TALLY_FFMPEG_BIN is unset (eval \"$(scripts/ffmpeg --env)\" names it)", name)
	}
	return filepath.Join(dir, name)
}

// FFmpeg 8's FLV muxer writes a second video stream as Enhanced RTMP
// multitrack tags: ParseVideoTracks reads both tracks of its file, headers
// and every frame; and the same frames rewritten by AppendMultitrackVideoTag,
// every track a multitrack one, are read back by FFmpeg 8 as the two streams,
// every frame decoding cleanly.
func TestMultitrackAgainstFFmpeg8(t *testing.T) {
	ffmpeg, ffprobe := ffmpeg8(t, "ffmpeg"), ffmpeg8(t, "ffprobe")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "ffmpeg.flv"), filepath.Join(dir, "tally.flv")
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=1",
		"-filter_complex", "[0:v]split[a][b];[b]scale=160:90[c]", "-map", "[a]", "-map", "[c]",
		"-c:v:0", "libx265", "-preset:v:0", "ultrafast", "-x265-params", "log-level=error",
		"-c:v:1", "libsvtav1", "-preset:v:1", "12", "-g", "15", "-f", "flv", in)
	cmd.Env = append(os.Environ(), "SVT_LOG=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}

	type track struct {
		codec           string
		headers, frames int
		record          []byte
	}
	tracks := map[uint8]*track{}
	var tags []Tag
	f, err := os.Open(in)
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
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if tag.Type != TagVideo {
			tags = append(tags, tag)
			continue
		}
		vs, err := ParseVideoTracks(tag.Data)
		if err != nil {
			t.Fatalf("FFmpeg's tag at %d ms: %v", tag.Timestamp, err)
		}
		role, err := RoleOf(tag)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.PacketType == PacketMetadata {
				continue // FFmpeg's colorInfo: nothing AppendMultitrackVideoTag makes
			}
			tr := tracks[v.TrackID]
			if tr == nil {
				tr = &track{codec: v.Codec}
				tracks[v.TrackID] = tr
			}
			if v.Multitrack != (v.TrackID != 0) || v.Codec != tr.codec {
				t.Fatalf("track %d: multitrack %v, codec %s after %s", v.TrackID, v.Multitrack, v.Codec, tr.codec)
			}
			pt := v.PacketType
			switch {
			case v.Header:
				tr.headers++
				tr.record = v.Data
				if !role.Header {
					t.Errorf("track %d: RoleOf misses a sequence header", v.TrackID)
				}
			case pt == PacketCodedFrames || pt == PacketCodedFramesX:
				tr.frames++
				pt = PacketCodedFrames
				if role.Keyframe != (v.FrameType == FrameKey) {
					t.Errorf("track %d: RoleOf says keyframe %v of frame type %d", v.TrackID, role.Keyframe, v.FrameType)
				}
			}
			fc, _ := FourCCFor(v.Codec)
			tags = append(tags, Tag{Type: TagVideo, Timestamp: tag.Timestamp,
				Data: AppendMultitrackVideoTag(nil, fc, v.TrackID, v.FrameType == FrameKey, pt, v.CTS, v.Data)})
		}
	}
	for id, want := range map[uint8]struct {
		codec string
		first byte
	}{0: {"hevc", 1}, 1: {"av1", 0x81}} {
		tr := tracks[id]
		if tr == nil || tr.codec != want.codec || tr.headers != 1 || tr.frames != 30 || len(tr.record) == 0 || tr.record[0] != want.first {
			t.Fatalf("track %d: %+v, want %s with one header (record starting %#x) and 30 frames", id, tr, want.codec, want.first)
		}
	}

	var buf bytes.Buffer
	w, err := NewWriter(&buf, false, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if err := w.WriteTag(tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	probe, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", out).CombinedOutput()
	if got, want := strings.TrimSpace(string(probe)), "hevc,320,180,30\nav1,160,90,30"; err != nil || got != want {
		t.Errorf("FFmpeg 8 reads Tally's multitrack tags as\n%s (%v)\nwant\n%s", got, err, want)
	}
	if b, err := exec.Command(ffmpeg, "-v", "error", "-i", out, "-map", "0", "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("FFmpeg 8 decoding Tally's multitrack tags says: %v\n%s", err, b)
	}
}

// Any one-track multitrack tag AppendMultitrackVideoTag builds parses back
// to what went in.
func FuzzMultitrackRoundTrip(f *testing.F) {
	f.Add(uint8(1), uint8(3), true, byte(PacketCodedFrames), int32(40), []byte{1, 2})
	f.Add(uint8(2), uint8(0), false, byte(PacketSequenceStart), int32(0), []byte{0x81})
	f.Fuzz(func(t *testing.T, codec, id uint8, key bool, pt byte, cts int32, data []byte) {
		fc := [...]FourCC{FourCCAVC, FourCCHEVC, FourCCAV1}[codec%3]
		pt %= PacketMPEG2TSSequenceStart // the packet types with a body of their own
		cts = cts << 8 >> 8              // SI24
		v, err := ParseVideoTag(AppendMultitrackVideoTag(nil, fc, id, key, pt, cts, data))
		if err != nil {
			t.Fatal(err)
		}
		wantCTS := cts
		if pt != PacketCodedFrames || fc == FourCCAV1 {
			wantCTS = 0
		}
		if !v.Multitrack || v.TrackID != id || v.Codec != codecOf(fc) || v.CTS != wantCTS || !bytes.Equal(v.Data, data) {
			t.Fatalf("parsed %+v", v)
		}
	})
}
