// Package deflate implements the permessage-deflate WebSocket extension
// (RFC 7692) for the client side: the handshake offer and the validation of
// the server's answer (§7.1), and a per-connection Compressor and
// Decompressor that turn one message at a time into the payload of a
// compressed message and back (§7.2).
//
// The Conn calls it like this:
//
//	offer := opts.Offer()                        // Sec-WebSocket-Extensions request header
//	p, ok, err := Accept(opts, resp.Header.Values("Sec-WebSocket-Extensions"))
//	// err: fail the handshake; !ok: the server declined, send uncompressed
//	c := p.NewCompressor(opts.Level)             // outgoing messages
//	d := p.NewDecompressor()                     // incoming messages with RSV1 set
//	...
//	c.Release(); d.Release()                     // at connection close
//
// A message shorter than Options.EffectiveThreshold is sent uncompressed
// (RSV1 clear); that is always allowed (§6) and does not enter the LZ77
// window on either side.
//
// # Options, defaults and memory per connection
//
// The numbers were measured with github.com/klauspost/compress/flate v1.20.3
// on amd64 (BenchmarkIdleMemory); "idle" means between messages.
//
//   - Level: flate level, -2 (Huffman only) or 1 (fastest) to 9 (smallest
//     output); 0 or -1 select DefaultLevel (1). A compressing flate writer
//     holds about 0.8 MiB at level 1, 1.1 MiB at level 5, 1.4 MiB at level
//     9. With a window smaller than 15 bits the level is ignored (the
//     encoder with a custom window has one speed) and the writer holds
//     about 1.0 MiB.
//   - Threshold: messages shorter than this many bytes are sent
//     uncompressed; 0 selects 128 bytes when we compress with context
//     takeover and 512 bytes without (a fresh window needs more input to win
//     anything). Costs no memory.
//   - ClientNoContextTakeover (default false = takeover): with takeover the
//     Compressor holds a flate writer while it sends (≈0.8 MiB at the
//     default level) so that each message may refer to the ones before;
//     parked (Park, after the connection idled), it keeps only the last
//     32 KiB it compressed, or less when less went through it. With no
//     takeover (asked by us or imposed by the server) the writer is taken
//     from a sync.Pool for one message and returned, and an idle
//     connection holds nothing (≈100 bytes).
//   - ServerNoContextTakeover (default false = takeover): with takeover the
//     Decompressor keeps the last 2^ServerMaxWindowBits bytes of output
//     (32 KiB by default, in a buffer half as large again: 48 KiB; it grows
//     to that by doubling from 8 KiB as the messages bring more, so a
//     connection that received 1 KiB holds 8 KiB) to seed the next
//     message; without it, nothing. The decoder's tables (≈26 KB) and its
//     copy of the message are pooled in both cases and only held while a
//     message is being decoded.
//   - ClientMaxWindowBits (default 0 = offered without a value, so the
//     server may pick 8–15): the largest window our compressor uses; a
//     smaller window compresses worse and does not save memory here.
//   - ServerMaxWindowBits (default 0 = not asked, 15): asks the server to
//     use at most 2^n bytes of window, which shrinks the history an idle
//     connection holds with server context takeover to 2^n bytes.
//
// A message of 32 KiB or more that Compress splits across two CPUs
// (split.go) borrows a second writer from the pool for that message, and
// the Compressor keeps the helper's output buffer (at most 64 KiB) and the
// 4 KiB it primed the helper with until it parks.
//
// So a connection with the zero Options holds about 0.8 MiB while it sends
// and, parked, what went through its windows: about 9 KiB after a 1 KiB
// message each way, at most 80 KiB (BenchmarkIdleMemory's "parked": 12.5
// KB after a 4 KiB message each way); with ClientNoContextTakeover and
// ServerNoContextTakeover it holds about 300 bytes, and each message in
// flight borrows ≈0.8 MiB (compressing) or ≈26 KB (decompressing) from
// the pools.
//
// # Why klauspost/compress, and our own decoder
//
// The standard library's compress/flate cannot compress with a window
// smaller than 32 KiB, which a server may require by answering
// client_max_window_bits=8..14 (§7.1.2.2); klauspost's NewWriterWindow can.
// It is also faster (1 KiB JSON at level 1: 1.8 µs against 2.3 µs; 64 KiB:
// 49 µs against 95 µs) and its writers are smaller (0.8 MiB against 1.2 MiB
// at level 1), so the Compressor uses it.
//
// Decompression is this package's own decoder (inflate.go), which accepts
// and rejects exactly what compress/flate does (FuzzInflate checks it
// against the standard library, FuzzDecompress against klauspost). A
// message arrives whole, so the decoder works on one contiguous input and
// writes straight into the caller's buffer, copying matches out of the
// history where klauspost's reader first copies the history into its window
// and every output byte through it; and it decodes table-driven with a
// 64-bit bit buffer. On level 1 JSON it takes less than half klauspost's
// time (BenchmarkDecompress, medians of 3: 64 KiB 49.4 → 21.8 µs, 1 KiB with
// context takeover 2.48 → 0.90 µs; BenchmarkInflate compares the two
// directly).
//
// # Decompression and context takeover
//
// Each message is decoded by a pooled decoder with the previous messages'
// last 2^n output bytes as its history, which lets an idle connection hold
// only its history, not a decoder. The history is kept contiguous, the
// newest byte last, in a buffer with room for 2^n/2 more bytes, so that the
// decoder copies matches straight out of it and it moves back to the start
// of its buffer once per 2^n/2 bytes of output.
package deflate
