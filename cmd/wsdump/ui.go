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
	// show prints one received message line (decorated unless -r).
	show(line string)
	// note prints an informational line (not with -r).
	note(line string)
	// traceWriter is where -vv traces go.
	traceWriter() io.Writer
	// interrupted reports whether input ended with Ctrl-C rather than EOF.
	interrupted() bool
	// close restores the terminal.
	close()
}

// plainConsole reads lines from a pipe or file and prints plain lines: the
// non-interactive mode, also used with -r.
type plainConsole struct {
	in     *bufio.Reader
	mu     sync.Mutex
	out    io.Writer
	errOut io.Writer
	raw    bool
}

func newPlainConsole(stdin io.Reader, stdout, stderr io.Writer, raw bool) *plainConsole {
	return &plainConsole{in: bufio.NewReaderSize(stdin, 64<<10), out: stdout, errOut: stderr, raw: raw}
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

func (c *plainConsole) show(line string) {
	if !c.raw {
		line = "< " + line
	}
	c.write(c.out, line)
}

func (c *plainConsole) note(line string) {
	if !c.raw {
		c.write(c.out, line)
	}
}

func (c *plainConsole) write(w io.Writer, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(w, line+"\n")
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
	t       *term.Terminal
	out     *os.File
	inFd    int
	state   *term.State
	ctrlC   *ctrlCReader
	color   bool
	stopWin func()
	once    sync.Once
}

// newTermConsole puts the terminal in raw mode; close restores it.
func newTermConsole(in, out *os.File) (*termConsole, error) {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	r := &ctrlCReader{r: in}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{r, out}, "> ")
	c := &termConsole{t: t, out: out, inFd: fd, state: state, ctrlC: r, color: os.Getenv("NO_COLOR") == ""}
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
	if err == term.ErrPasteIndicator {
		err = nil // a pasted line is sent like a typed one
	}
	return line, err
}

func (c *termConsole) show(line string) {
	if c.color {
		// Blue, as the Python tool prints received messages.
		line = string(c.t.Escape.Blue) + "< " + line + string(c.t.Escape.Reset)
	} else {
		line = "< " + line
	}
	c.t.Write([]byte(line + "\n"))
}

func (c *termConsole) note(line string) { c.t.Write([]byte(line + "\n")) }

// traceWriter goes through the Terminal, which turns "\n" into "\r\n" for
// the raw-mode terminal and keeps the prompt intact.
func (c *termConsole) traceWriter() io.Writer { return c.t }

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

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) (*os.File, bool) {
	file, ok := f.(*os.File)
	return file, ok && term.IsTerminal(int(file.Fd()))
}
