package websocket

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Contention: a spin holds a CPU. While no more threads are runnable than
// there are CPUs, that CPU was idle and the spin costs nobody anything;
// when more are (another process busy on every CPU, or a loaded host), the
// spin takes the CPU from a thread that wanted it, often the very sender it
// waits for. Measured with a CPU-bound process next to a 2-CPU benchmark,
// spinning (BusyPollOn) against not spinning made 16-byte echo round trips
// 0.90× as many (per-round 0.53–0.91) with 1.19× the p99, and receive at
// most 7% faster (bench/README.md, contended run 3). So BusyPollDefault
// does not spin while the machine is contended: more threads runnable than
// CPUs, as the kernel counts them in /proc/loadavg, sampled at most every
// contentionSample by whichever read wants to spin.

// contentionSample is how long one look at /proc/loadavg stands.
const contentionSample = int64(50 * time.Millisecond)

var contention struct {
	next atomic.Int64 // monoNow() after which to look again
	busy atomic.Bool  // the last look saw more runnable threads than CPUs
}

// machineContended reports whether more threads were runnable than there
// are CPUs at the last look, looking again when that is contentionSample
// old. It allocates nothing.
func machineContended() bool {
	now := monoNow()
	next := contention.next.Load()
	if now < next || !contention.next.CompareAndSwap(next, now+contentionSample) {
		return contention.busy.Load()
	}
	busy := false
	if n, ok := readRunnable(); ok {
		busy = n > runtime.NumCPU()
	}
	contention.busy.Store(busy)
	return busy
}

// readRunnable returns the number of runnable threads /proc/loadavg counts
// (the reader among them).
func readRunnable() (int, bool) {
	fd, err := syscall.Open("/proc/loadavg", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	var buf [128]byte
	n, err := syscall.Read(fd, buf[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	return parseRunnable(buf[:n])
}

// parseRunnable reads the fourth field of /proc/loadavg, "running/total"
// (e.g. "0.52 0.58 0.59 3/467 12345"), and returns running.
func parseRunnable(b []byte) (int, bool) {
	field := 0
	for i := 0; i < len(b); i++ {
		if b[i] == ' ' {
			field++
			continue
		}
		if field == 3 {
			n, digits := 0, 0
			for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
				n = n*10 + int(b[i]-'0')
				digits++
			}
			if digits == 0 || i == len(b) || b[i] != '/' {
				return 0, false
			}
			return n, true
		}
	}
	return 0, false
}

// socketAvailable returns the bytes fd holds, ready to be read (FIONREAD,
// which is TIOCINQ on Linux), 0 on an error.
func socketAvailable(fd uintptr) int {
	var n int32
	if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
		return 0
	}
	return int(n)
}

// socketWritable reports whether a write to fd would not block: the socket
// has room, or an error or hang-up that a write reports at once. It asks
// ppoll for POLLOUT without waiting.
func socketWritable(fd uintptr) bool {
	const pollOut = 0x4
	pfd := struct {
		fd              int32
		events, revents int16
	}{fd: int32(fd), events: pollOut}
	var ts syscall.Timespec // zero: do not wait
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e != syscall.EINTR {
			return e == 0 && n == 1
		}
	}
}

// readv2 reads fd into p and, past its end, into q, in one system call.
func readv2(fd int, p, q []byte) (int, error) {
	iov := [2]syscall.Iovec{{Base: &p[0]}, {Base: &q[0]}}
	iov[0].SetLen(len(p))
	iov[1].SetLen(len(q))
	n, _, e := syscall.Syscall(syscall.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
