package mix

import (
	"math"
	"unsafe"
)

// floatBytes is f's memory as bytes, for libav, which takes interleaved
// float samples as a byte plane.
func floatBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// doubleBytes and bytesDouble are the same for doubles, the filter graph's
// format.
func doubleBytes(f []float64) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 8*len(f))
}

func bytesDouble(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// int16Bytes is pcm's memory as bytes.
func int16Bytes(pcm []int16) []byte {
	if len(pcm) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&pcm[0])), 2*len(pcm))
}

// dbToGain is the linear gain of db decibels; -inf is 0.
func dbToGain(db float64) float64 {
	if math.IsInf(db, -1) {
		return 0
	}
	return math.Pow(10, db/20)
}

// gainToDB is the level of a linear amplitude in dBFS; 0 is -inf.
func gainToDB(g float64) float64 {
	if g <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(g)
}
