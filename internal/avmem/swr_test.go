//go:build cgo

package avmem

import (
	"math"
	"testing"
	"unsafe"

	"github.com/asticode/go-astiav"
)

func s16(f []int16) []byte   { return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 2*len(f)) }
func flt(f []float32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f)) }

// resampler is a Resampler from in to out, freed when the test ends.
func resampler(t *testing.T, in, out AudioFormat) *Resampler {
	t.Helper()
	var mem Closer
	t.Cleanup(mem.Close)
	r, err := NewResampler(&mem, in, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sine is frames of a sine at freq in every channel, int16 at amplitude amp.
func sine(frames, channels int, freq, rate, amp float64, from int) []int16 {
	pcm := make([]int16, frames*channels)
	for i := range frames {
		v := int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(from+i)/rate))
		for c := range channels {
			pcm[i*channels+c] = v
		}
	}
	return pcm
}

// The resampler works through the *C.SwrContext behind go-astiav's object:
// what go-astiav reads of the same context must agree, or the layout
// swrContext relies on has changed.
func TestResamplerUsesAstiavContext(t *testing.T) {
	r := resampler(t, AudioFormat{44100, 2, astiav.SampleFormatS16}, AudioFormat{48000, 2, astiav.SampleFormatFlt})
	out := make([]float32, 2*2048)
	if _, err := r.Convert(flt(out), s16(sine(441, 2, 1000, 44100, 0.5, 0))); err != nil {
		t.Fatal(err)
	}
	if ours, theirs := r.Delay(48000), r.s.Delay(48000); ours != theirs || ours == 0 {
		t.Fatalf("delay through the C pointer %d, through go-astiav %d: want the same, not 0", ours, theirs)
	}
}

// Convert goes straight between Go slices: 44.1 kHz int16 stereo to 48 kHz
// float, the right number of frames, the tone's level kept.
func TestResamplerConvertsBetweenGoSlices(t *testing.T) {
	r := resampler(t, AudioFormat{44100, 2, astiav.SampleFormatS16}, AudioFormat{48000, 2, astiav.SampleFormatFlt})
	out := make([]float32, 2*r.MaxOut(4410))
	var got []float32
	for i := range 10 {
		n, err := r.Convert(flt(out), s16(sine(4410, 2, 1000, 44100, 0.5, 4410*i)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out[:2*n]...)
	}
	if n := len(got) / 2; n < 48000-64 || n > 48000 {
		t.Errorf("1 s at 44.1 kHz gave %d frames at 48 kHz, want 48000 less the filter's delay", n)
	}
	var peak float32
	for i, v := range got[2*4800:] {
		peak = max(peak, v)
		if i%2 == 1 && v != got[2*4800+i-1] {
			t.Fatalf("frame %d: left %v, right %v: want the same", i/2, got[2*4800+i-1], v)
		}
	}
	if math.Abs(float64(peak)-0.5) > 0.01 {
		t.Errorf("peak %.4f, want 0.5", peak)
	}
}

// SetCompensation stretches time: over 10 s at 48 kHz, -1000 ppm gives
// 480 frames fewer, +1000 ppm 480 more.
func TestResamplerCompensationStretchesTime(t *testing.T) {
	for _, ppm := range []int{-1000, 0, 1000} {
		r := resampler(t, AudioFormat{48000, 2, astiav.SampleFormatS16}, AudioFormat{48000, 2, astiav.SampleFormatFlt})
		in := make([]int16, 2*480)
		out := make([]float32, 2*1024)
		total := 0
		for range 1000 {
			const distance = 48000 * 60
			if err := r.SetCompensation(ppm*distance/1e6, distance); err != nil {
				t.Fatal(err)
			}
			n, err := r.Convert(flt(out), s16(in))
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		total += int(r.Delay(48000)) // what it still holds
		if want := 480000 + 480*ppm/1000; total < want-2 || total > want+2 {
			t.Errorf("%+d ppm: %d frames out of 480000, want %d", ppm, total, want)
		}
	}
}

// Planar formats and absurd rates are refused with an error, not handed to
// libswresample.
func TestResamplerRefusesBadFormats(t *testing.T) {
	var mem Closer
	defer mem.Close()
	for _, c := range [][2]AudioFormat{
		{{48000, 2, astiav.SampleFormatFltp}, {48000, 2, astiav.SampleFormatFlt}},
		{{48000, 2, astiav.SampleFormatS16}, {0, 2, astiav.SampleFormatFlt}},
		{{48000, 0, astiav.SampleFormatS16}, {48000, 2, astiav.SampleFormatFlt}},
	} {
		if _, err := NewResampler(&mem, c[0], c[1]); err == nil {
			t.Errorf("%+v to %+v: no error", c[0], c[1])
		}
	}
}

// Converting a block allocates nothing.
func TestResamplerConvertAllocatesNothing(t *testing.T) {
	r := resampler(t, AudioFormat{44100, 1, astiav.SampleFormatS16}, AudioFormat{48000, 2, astiav.SampleFormatFlt})
	in, out := sine(441, 1, 1000, 44100, 0.5, 0), make([]float32, 2*1024)
	if n := testing.AllocsPerRun(100, func() {
		if err := r.SetCompensation(-48, 48000*60); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Convert(flt(out), s16(in)); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%.1f allocations a block", n)
	}
}
