// Package amf is Action Message Format, the encoding RTMP commands and stream
// metadata are written in. It depends on nothing but the standard library.
//
// AppendAMF0 writes AMF0, the encoding every RTMP peer reads. DecodeAMF0 reads
// AMF0, following the switch to AMF3 (marker 0x11) where a peer uses it;
// DecodeAMF3Command reads the body of an AMF3 command or data message. Decoded
// values are plain Go values: float64, bool, string, nil, and this package's
// Undefined, Object, ECMAArray, TypedObject, XMLDocument and Reference; AMF3
// adds time.Time and []byte. Objects keep their properties in wire order.
//
// The decoder reads what a remote peer sent, so it is bounded: nesting depth,
// the number of values in one message, counts that claim more elements than the
// input holds, and AMF3 references that would stand for a tree far larger or
// deeper than the message are all refused with an error naming the offset. So
// what DecodeAMF0 returns, AppendAMF0 can write back out (AMF3 byte arrays
// aside) in a size in proportion to the input.
//
// Files: amf0.go holds the types, the encoder and the AMF0 decoder; amf3.go the
// AMF3 decoder and its reference tables.
package amf
