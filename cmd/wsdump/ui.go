package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/term"
)

// console is where lines are read from and received messages printed.
type console interface {
	// readLine returns the next input line without its line ending, and
	// io.EOF at the end of input (Ctrl-D, Ctrl-C on a terminal).
	readLine() (string, error)
	// show prints one message line of style st: "< " or "> " and a colour
	// are added (neither with -r).
	show(st style, line string)
	// note prints an informational line (not with -r).
	note(line string)
	// status prints a line about the session, such as a command's error
	// or a reconnect: on standard error as "wsdump: line" when not on a
	// terminal.
	status(st style, line string)
	// traceWriter is where -vv traces go.
	traceWriter() io.Writer
	// interrupted reports whether input ended with Ctrl-C rather than EOF.
	interrupted() bool
	// outputFailed is closed when a write to standard output failed (its
	// reader went away: wsdump | head), which ends the session as an
	// interrupt does; outputErr returns that error, nil before.
	outputFailed() <-chan struct{}
	outputErr() error
	// close restores the terminal.
	close()
}

// outputFailure records the first failed write to standard output.
type outputFailure struct {
	failMu sync.Mutex
	err    error
	failed chan struct{} // closed at the first failure
}

func newOutputFailure() *outputFailure { return &outputFailure{failed: make(chan struct{})} }

// fail records err unless a failure was recorded already.
func (o *outputFailure) fail(err error) {
	o.failMu.Lock()
	defer o.failMu.Unlock()
	if o.err == nil {
		o.err = err
		close(o.failed)
	}
}

func (o *outputFailure) outputFailed() <-chan struct{} { return o.failed }

func (o *outputFailure) outputErr() error {
	o.failMu.Lock()
	defer o.failMu.Unlock()
	return o.err
}

// plainConsole reads lines from a pipe or file and prints plain lines: the
// non-interactive mode, also used with -r.
type plainConsole struct {
	*outputFailure
	in     *bufio.Reader
	mu     sync.Mutex
	out    io.Writer
	errOut io.Writer
	raw    bool
	color  bool // stdout is a terminal that takes colours
}

func newPlainConsole(stdin io.Reader, stdout, stderr io.Writer, raw, color bool) *plainConsole {
	return &plainConsole{outputFailure: newOutputFailure(), in: bufio.NewReaderSize(stdin, 64<<10), out: stdout, errOut: stderr, raw: raw, color: color && !raw}
}

func (c *plainConsole) readLine() (string, error) {
	line, err := c.in.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil // a last line without a newline is still a line
	}
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	return line, nil
}

func (c *plainConsole) show(st style, line string) {
	if !c.raw {
		line = paint(c.color, st, prefixFor(st)+line)
	}
	c.writeOut(line)
}

func (c *plainConsole) status(st style, line string) {
	_, tty := isTerminal(c.errOut)
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.errOut, paint(tty && c.color, st, "wsdump: "+line)+"\n")
}

func (c *plainConsole) note(line string) {
	if !c.raw {
		c.writeOut(line)
	}
}

// writeOut prints a line on standard output. The first write that fails
// (EPIPE once the reader went away) is recorded, which ends the session;
// nothing more is written there.
func (c *plainConsole) writeOut(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outputErr() != nil {
		return
	}
	if _, err := io.WriteString(c.out, line+"\n"); err != nil {
		c.fail(err)
	}
}

func (c *plainConsole) traceWriter() io.Writer { return lockedWriter{&c.mu, c.errOut} }
func (c *plainConsole) interrupted() bool      { return false }
func (c *plainConsole) close()                 {}

// lockedWriter serializes writes with the console's own.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// termConsole is the interactive mode: a prompt with line editing and
// history (golang.org/x/term's Terminal). Its Write clears the prompt and
// the line being typed, prints, and redraws them, so messages that arrive
// while the user types never mangle the input line.
type termConsole struct {
	*outputFailure
	t       *term.Terminal
	out     *os.File
	errOut  io.Writer // stderr, for -vv traces when it is not the terminal
	inFd    int
	state   *term.State
	ctrlC   *ctrlCReader
	color   bool
	search  *searcher // Ctrl-R
	stopWin func()
	once    sync.Once
}

// newTermConsole puts the terminal in raw mode; close restores it. errOut
// is stderr; hist is the line history, which Up, Down and Ctrl-R search.
func newTermConsole(in, out *os.File, errOut io.Writer, hist *history) (*termConsole, error) {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	r := &ctrlCReader{r: in}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{&keyReader{r: r}, out}, "> ")
	c := &termConsole{outputFailure: newOutputFailure(), t: t, out: out, errOut: errOut, inFd: fd, state: state, ctrlC: r, color: colourWanted()}
	t.History = hist
	c.search = &searcher{t: t, h: hist, prompt: "> "}
	t.AutoCompleteCallback = c.search.key
	resize := func() {
		if w, h, err := term.GetSize(int(out.Fd())); err == nil {
			t.SetSize(w, h)
		}
	}
	resize()
	c.stopWin = watchWindowSize(resize)
	return c, nil
}

func (c *termConsole) readLine() (string, error) {
	line, err := c.t.ReadLine()
	c.search.end() // Enter may have accepted a match
	if err == term.ErrPasteIndicator {
		err = nil // a pasted line is sent like a typed one
	}
	return line, err
}

func (c *termConsole) show(st style, line string) {
	// Received messages in blue, as the Python tool prints them.
	c.write(paint(c.color, st, prefixFor(st)+line))
}

func (c *termConsole) note(line string) { c.write(line) }

func (c *termConsole) status(st style, line string) {
	c.write(paint(c.color, st, line))
}

// write prints a line above the prompt; a failed write (the terminal is
// gone) is recorded as plainConsole.writeOut records it.
func (c *termConsole) write(line string) {
	if _, err := c.t.Write([]byte(line + "\n")); err != nil {
		c.fail(err)
	}
}

// traceWriter is stderr when it is not a terminal (wsdump -vv 2>file), else
// the Terminal, which turns "\n" into "\r\n" for the raw-mode terminal and
// keeps the prompt intact.
func (c *termConsole) traceWriter() io.Writer {
	if _, tty := isTerminal(c.errOut); !tty {
		return c.errOut
	}
	return c.t
}

func (c *termConsole) interrupted() bool { return c.ctrlC.seen.Load() }

func (c *termConsole) close() {
	c.once.Do(func() {
		c.stopWin()
		// Erase the prompt line: the shell's prompt takes its place.
		io.WriteString(c.out, "\r\x1b[K")
		term.Restore(c.inFd, c.state)
	})
}

// ctrlCReader notes a Ctrl-C typed at the raw-mode terminal, which the
// Terminal reports as io.EOF like Ctrl-D: Ctrl-C skips --eof-wait.
type ctrlCReader struct {
	r    io.Reader
	seen atomic.Bool
}

func (r *ctrlCReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if bytes.IndexByte(p[:n], 3) >= 0 {
		r.seen.Store(true)
	}
	return n, err
}

// keyReader translates the Home and End keys of terminals such as tmux and
// screen (ESC [ 1 ~, ESC [ 7 ~, ESC O H; ESC [ 4 ~, ESC [ 8 ~, ESC O F),
// which x/term's Terminal does not know, into the ESC [ H and ESC [ F it
// does. A sequence cut by the end of a read is completed by the next.
type keyReader struct {
	r       io.Reader
	buf     [256]byte
	pending []byte // the start of a sequence at the end of the last read
	out     []byte // translated bytes not returned yet
	err     error  // the error of r, returned once out is empty
}

// keyAliases maps each sequence to the one the Terminal knows.
var keyAliases = []struct{ from, to string }{
	{"\x1b[1~", "\x1b[H"}, {"\x1b[7~", "\x1b[H"}, {"\x1bOH", "\x1b[H"},
	{"\x1b[4~", "\x1b[F"}, {"\x1b[8~", "\x1b[F"}, {"\x1bOF", "\x1b[F"},
}

func (k *keyReader) Read(p []byte) (int, error) {
	for len(k.out) == 0 {
		if k.err != nil {
			return 0, k.err
		}
		n, err := k.r.Read(k.buf[:])
		k.err = err
		in := append(k.pending, k.buf[:n]...)
		k.out, k.pending = translateKeys(in[:0], in, err != nil) // in place: no alias is longer than its sequence
	}
	n := copy(p, k.out)
	k.out = k.out[n:]
	return n, nil
}

// translateKeys appends in to dst with keyAliases replaced, and returns the
// start of an alias at the end of in separately (unless final). dst may be
// in[:0].
func translateKeys(dst, in []byte, final bool) (out, rest []byte) {
	for len(in) > 0 {
		i := bytes.IndexByte(in, 0x1b)
		if i < 0 {
			return append(dst, in...), nil
		}
		dst = append(dst, in[:i]...)
		in = in[i:]
		matched, partial := false, false
		for _, a := range keyAliases {
			if bytes.HasPrefix(in, []byte(a.from)) {
				dst = append(dst, a.to...)
				in = in[len(a.from):]
				matched = true
				break
			}
			partial = partial || (len(in) < len(a.from) && a.from[:len(in)] == string(in))
		}
		switch {
		case matched:
		case partial && !final:
			return dst, bytes.Clone(in)
		default:
			dst = append(dst, in[0])
			in = in[1:]
		}
	}
	return dst, nil
}

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) (*os.File, bool) {
	file, ok := f.(*os.File)
	return file, ok && term.IsTerminal(int(file.Fd()))
}
