package deflate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wsclient/websocket/internal/testenv"
)

// zlibScript checks our output with zlib, an independent implementation:
// it inflates each of our messages with a window of exactly 2^bits bytes
// and deflates the originals with zlib for us to inflate. zlib looks back
// into its window only for output it has already returned, so the script
// takes the output 16 bytes at a time: a distance over 2^bits+16 then fails
// with "invalid distance too far back" (checked by TestZlibScriptIsStrict).
const zlibScript = `
import sys, zlib, struct
bits, takeover, orig_path, ours_path, theirs_path = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], sys.argv[4], sys.argv[5]
def read(path):
    data, out, i = open(path, "rb").read(), [], 0
    while i < len(data):
        n = struct.unpack(">I", data[i:i+4])[0]
        out.append(data[i+4:i+4+n]); i += 4 + n
    return out
orig, ours = read(orig_path), read(ours_path)
d = zlib.decompressobj(wbits=-bits)
for i, (o, c) in enumerate(zip(orig, ours)):
    if not takeover:
        d = zlib.decompressobj(wbits=-bits)
    got, buf = b"", c + b"\x00\x00\xff\xff"
    while buf:
        got += d.decompress(buf, 16)
        buf = d.unconsumed_tail
    if got != o:
        sys.exit("message %d: zlib inflated %d bytes, want %d" % (i, len(got), len(o)))
# zlib cannot deflate with a 2^8 window (it uses 2^9), so the caller inflates with max(bits, 9).
c = zlib.compressobj(6, zlib.DEFLATED, -max(bits, 9))
with open(theirs_path, "wb") as f:
    for o in orig:
        if not takeover:
            c = zlib.compressobj(6, zlib.DEFLATED, -max(bits, 9))
        out = c.compress(o) + c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        out = out[:-4]
        f.write(struct.pack(">I", len(out)) + out)
`

func writeMessages(t *testing.T, path string, msgs [][]byte) {
	t.Helper()
	var b bytes.Buffer
	for _, m := range msgs {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(m))))
		b.Write(m)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readMessages(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(data) >= 4 {
		n := binary.BigEndian.Uint32(data)
		out = append(out, data[4:4+n])
		data = data[4+n:]
	}
	return out
}

// python3 returns the interpreter, skipping the test where there is none
// (failing it in CI, which installs it).
func python3(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs python3")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 not found: the zlib cross-check needs it")
	}
	if err := exec.Command(python, "-c", "import zlib").Run(); err != nil {
		testenv.Missing(t, "python3 has no zlib")
	}
	return python
}

// runZlib runs zlibScript on msgs and ours, their compressed forms, and
// returns zlib's compressed forms of msgs.
func runZlib(t *testing.T, python string, bits int, takeover bool, msgs, ours [][]byte) ([][]byte, error) {
	t.Helper()
	dir := t.TempDir()
	orig, oursPath, theirs := filepath.Join(dir, "orig"), filepath.Join(dir, "ours"), filepath.Join(dir, "theirs")
	writeMessages(t, orig, msgs)
	writeMessages(t, oursPath, ours)
	tk := "0"
	if takeover {
		tk = "1"
	}
	out, err := exec.Command(python, "-c", zlibScript, fmt.Sprint(bits), tk, orig, oursPath, theirs).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return readMessages(t, theirs), nil
}

func compressAll(t *testing.T, c *Compressor, msgs [][]byte) [][]byte {
	t.Helper()
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		var err error
		if out[i], err = c.Compress(nil, m); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The check must be able to fail: a 2^15 stream with long distances is
// rejected at 2^8.
func TestZlibScriptIsStrict(t *testing.T) {
	python := python3(t)
	c := NewCompressor(1, 15, true)
	defer c.Release()
	msgs := messages()
	if _, err := runZlib(t, python, 8, true, msgs, compressAll(t, c, msgs)); err == nil {
		t.Fatal("zlib with a 2^8 window accepted a stream compressed with 2^15")
	}
}

func TestZlibInterop(t *testing.T) {
	python := python3(t)
	alwaysSplit = true // the large messages are split (split.go) at the full window
	defer func() { alwaysSplit = false }()
	msgs := messages()
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		for _, takeover := range []bool{true, false} {
			for _, level := range []int{1, 9} {
				if bits < MaxWindowBits && level != 1 {
					continue // the custom-window encoder has one level
				}
				t.Run(fmt.Sprintf("bits=%d/takeover=%v/level=%d", bits, takeover, level), func(t *testing.T) {
					c := NewCompressor(level, bits, takeover)
					defer c.Release()
					theirs, err := runZlib(t, python, bits, takeover, msgs, compressAll(t, c, msgs))
					if err != nil {
						t.Fatalf("zlib rejected our stream: %v", err)
					}
					d := NewDecompressor(max(bits, 9), takeover)
					defer d.Release()
					for i, comp := range theirs {
						got, err := d.Decompress(nil, comp, -1)
						if err != nil || !bytes.Equal(got, msgs[i]) {
							t.Fatalf("zlib message %d: got %d bytes, %v; want %d", i, len(got), err, len(msgs[i]))
						}
					}
				})
			}
		}
	}
}
