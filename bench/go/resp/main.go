// A Redis-protocol (RESP2) server of the same design as examples/resp.rs: one goroutine per
// connection, a buffered reader (pooled while the connection is idle, as net/http pools its
// bufio readers), replies flushed when no complete command is left in the buffer, a keyspace
// of 64 shards each behind a sync.Mutex. Commands: PING, ECHO, SET, GET, INCR, DEL, LPUSH,
// RPUSH, LPOP, RPOP, LRANGE, CONFIG GET, QUIT; array and inline requests.
//
//	resp [ADDR]   (default 127.0.0.1:6380; prints "listening on ADDR")
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
)

const (
	shards     = 64
	readBuf    = 16 * 1024
	maxMulti   = 1024 * 1024
	maxBulk    = 512 * 1024 * 1024
	maxInline  = 64 * 1024
	wrongType  = "WRONGTYPE Operation against a key holding the wrong kind of value"
	notInteger = "ERR value is not an integer or out of range"
)

type value struct {
	str    []byte
	list   [][]byte // front first; nil for a string
	isList bool
}

type shard struct {
	mu sync.Mutex
	m  map[string]*value
}

var (
	seed    = maphash.MakeSeed()
	store   [shards]shard
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBuf) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, readBuf) }}
)

func shardOf(key []byte) *shard {
	return &store[maphash.Bytes(seed, key)%shards]
}

var errProto = errors.New("protocol")

type protoErr string

func (e protoErr) Error() string { return string(e) }

// readLine returns the next line without "\r\n" (valid until the next read).
func readLine(r *bufio.Reader, tooBig string) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, protoErr(tooBig)
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseInt reads a decimal as Redis's string2ll does: optional '-', no '+', no leading zeros.
func parseInt(s []byte) (int64, bool) {
	if len(s) == 0 || s[0] == '+' || (len(s) > 1 && s[0] == '0') || (len(s) > 1 && s[0] == '-' && s[1] == '0') {
		return 0, false
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	return v, err == nil
}

// readCommand reads one request into args (reusing its storage).
func readCommand(r *bufio.Reader, args [][]byte) ([][]byte, error) {
	args = args[:0]
	c, err := r.Peek(1)
	if err != nil {
		return nil, err
	}
	if c[0] != '*' {
		line, err := readLine(r, "too big inline request")
		if err != nil {
			return nil, err
		}
		for _, f := range bytes.Fields(line) {
			args = append(args, append([]byte(nil), f...))
		}
		return args, nil
	}
	line, err := readLine(r, "too big mbulk count string")
	if err != nil {
		return nil, err
	}
	n, ok := parseInt(line[1:])
	if !ok || n < 0 || n > maxMulti {
		return nil, protoErr("invalid multibulk length")
	}
	for i := int64(0); i < n; i++ {
		line, err := readLine(r, "too big bulk count string")
		if err != nil {
			return nil, err
		}
		if len(line) == 0 || line[0] != '$' {
			got := byte('\n')
			if len(line) > 0 {
				got = line[0]
			}
			return nil, protoErr(fmt.Sprintf("expected '$', got '%c'", got))
		}
		l, ok := parseInt(line[1:])
		if !ok || l < 0 || l > maxBulk {
			return nil, protoErr("invalid bulk length")
		}
		// Grows with the bytes that arrive, never to the declared length at once.
		var arg []byte
		if l <= readBuf {
			arg = make([]byte, l)
			if _, err := io.ReadFull(r, arg); err != nil {
				return nil, err
			}
		} else {
			var b bytes.Buffer
			if _, err := io.CopyN(&b, r, l); err != nil {
				return nil, err
			}
			arg = b.Bytes()
		}
		if _, err := r.Discard(2); err != nil {
			return nil, err
		}
		args = append(args, arg)
	}
	return args, nil
}

func writeInt(w *bufio.Writer, prefix byte, v int64) {
	w.WriteByte(prefix)
	var b [24]byte
	w.Write(strconv.AppendInt(b[:0], v, 10))
	w.WriteString("\r\n")
}

func writeBulk(w *bufio.Writer, v []byte) {
	writeInt(w, '$', int64(len(v)))
	w.Write(v)
	w.WriteString("\r\n")
}

func writeErr(w *bufio.Writer, msg string) {
	w.WriteByte('-')
	w.WriteString(msg)
	w.WriteString("\r\n")
}

var config = [][2]string{{"appendonly", "no"}, {"databases", "1"}, {"maxmemory", "0"},
	{"proto-max-bulk-len", "536870912"}, {"save", ""}}

func glob(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		return glob(p[1:], s) || (s != "" && glob(p, s[1:]))
	case '?':
		return s != "" && glob(p[1:], s[1:])
	}
	return s != "" && bytes.EqualFold([]byte{p[0]}, []byte{s[0]}) && glob(p[1:], s[1:])
}

// execute runs one command; true for QUIT.
func execute(a [][]byte, w *bufio.Writer) bool {
	name := string(bytes.ToLower(a[0]))
	n := len(a)
	arity := func(ok bool) bool {
		if !ok {
			writeErr(w, "ERR wrong number of arguments for '"+name+"' command")
		}
		return ok
	}
	switch name {
	case "ping":
		if arity(n <= 2) {
			if n == 2 {
				writeBulk(w, a[1])
			} else {
				w.WriteString("+PONG\r\n")
			}
		}
	case "echo":
		if arity(n == 2) {
			writeBulk(w, a[1])
		}
	case "quit":
		w.WriteString("+OK\r\n")
		return true
	case "set":
		if arity(n >= 3) {
			if n > 3 {
				writeErr(w, "ERR syntax error")
				break
			}
			s := shardOf(a[1])
			s.mu.Lock()
			s.m[string(a[1])] = &value{str: a[2]}
			s.mu.Unlock()
			w.WriteString("+OK\r\n")
		}
	case "get":
		if arity(n == 2) {
			s := shardOf(a[1])
			s.mu.Lock()
			v := s.m[string(a[1])]
			switch {
			case v == nil:
				w.WriteString("$-1\r\n")
			case v.isList:
				writeErr(w, wrongType)
			default:
				writeBulk(w, v.str)
			}
			s.mu.Unlock()
		}
	case "incr":
		if arity(n == 2) {
			s := shardOf(a[1])
			s.mu.Lock()
			v := s.m[string(a[1])]
			var old int64
			ok := true
			if v != nil {
				if v.isList {
					s.mu.Unlock()
					writeErr(w, wrongType)
					break
				}
				old, ok = parseInt(v.str)
			}
			if !ok {
				s.mu.Unlock()
				writeErr(w, notInteger)
				break
			}
			if old == 1<<63-1 {
				s.mu.Unlock()
				writeErr(w, "ERR increment or decrement would overflow")
				break
			}
			s.m[string(a[1])] = &value{str: strconv.AppendInt(nil, old+1, 10)}
			s.mu.Unlock()
			writeInt(w, ':', old+1)
		}
	case "del":
		if arity(n >= 2) {
			gone := int64(0)
			for _, k := range a[1:] {
				s := shardOf(k)
				s.mu.Lock()
				if _, ok := s.m[string(k)]; ok {
					delete(s.m, string(k))
					gone++
				}
				s.mu.Unlock()
			}
			writeInt(w, ':', gone)
		}
	case "lpush", "rpush":
		if arity(n >= 3) {
			s := shardOf(a[1])
			s.mu.Lock()
			v := s.m[string(a[1])]
			if v == nil {
				v = &value{isList: true}
				s.m[string(a[1])] = v
			}
			if !v.isList {
				s.mu.Unlock()
				writeErr(w, wrongType)
				break
			}
			for _, e := range a[2:] {
				if name == "lpush" {
					v.list = append([][]byte{e}, v.list...)
				} else {
					v.list = append(v.list, e)
				}
			}
			l := len(v.list)
			s.mu.Unlock()
			writeInt(w, ':', int64(l))
		}
	case "lpop", "rpop":
		if arity(n == 2 || n == 3) {
			count := int64(-1)
			if n == 3 {
				c, ok := parseInt(a[2])
				if !ok || c < 0 {
					writeErr(w, "ERR value is out of range, must be positive")
					break
				}
				count = c
			}
			s := shardOf(a[1])
			s.mu.Lock()
			v := s.m[string(a[1])]
			switch {
			case v == nil:
				if count < 0 {
					w.WriteString("$-1\r\n")
				} else {
					w.WriteString("*-1\r\n")
				}
			case !v.isList:
				writeErr(w, wrongType)
			default:
				take := int64(1)
				if count >= 0 {
					take = min(count, int64(len(v.list)))
					writeInt(w, '*', take)
				}
				for i := int64(0); i < take; i++ {
					if name == "lpop" {
						writeBulk(w, v.list[0])
						v.list = v.list[1:]
					} else {
						writeBulk(w, v.list[len(v.list)-1])
						v.list = v.list[:len(v.list)-1]
					}
				}
				if len(v.list) == 0 {
					delete(s.m, string(a[1]))
				}
			}
			s.mu.Unlock()
		}
	case "lrange":
		if arity(n == 4) {
			start, ok1 := parseInt(a[2])
			stop, ok2 := parseInt(a[3])
			if !ok1 || !ok2 {
				writeErr(w, notInteger)
				break
			}
			s := shardOf(a[1])
			s.mu.Lock()
			v := s.m[string(a[1])]
			switch {
			case v == nil:
				w.WriteString("*0\r\n")
			case !v.isList:
				writeErr(w, wrongType)
			default:
				l := int64(len(v.list))
				if start < 0 {
					start = max(l+start, 0)
				}
				if stop < 0 {
					stop += l
				}
				stop = min(stop, l-1)
				if start > stop || start >= l {
					w.WriteString("*0\r\n")
				} else {
					writeInt(w, '*', stop-start+1)
					for _, e := range v.list[start : stop+1] {
						writeBulk(w, e)
					}
				}
			}
			s.mu.Unlock()
		}
	case "config":
		if n < 3 || !bytes.EqualFold(a[1], []byte("get")) {
			writeErr(w, "ERR wrong number of arguments for 'config|get' command")
			break
		}
		var found [][2]string
		for _, kv := range config {
			for _, p := range a[2:] {
				if glob(string(p), kv[0]) {
					found = append(found, kv)
					break
				}
			}
		}
		writeInt(w, '*', int64(2*len(found)))
		for _, kv := range found {
			writeBulk(w, []byte(kv[0]))
			writeBulk(w, []byte(kv[1]))
		}
	default:
		msg := "ERR unknown command '" + string(a[0]) + "', with args beginning with: "
		for _, x := range a[1:] {
			msg += "'" + string(x) + "' "
		}
		writeErr(w, msg)
	}
	return false
}

func serve(c net.Conn) {
	defer c.Close()
	var r *bufio.Reader
	var w *bufio.Writer
	var args [][]byte
	one := make([]byte, 1)
	defer func() {
		if r != nil {
			r.Reset(nil)
			readers.Put(r)
			w.Reset(nil)
			writers.Put(w)
		}
	}()
	for {
		if r == nil {
			// Idle: wait for data holding no buffer (a one-byte read into the connection's
			// own byte, then the pooled reader over it and the rest of the stream).
			if _, err := io.ReadFull(c, one); err != nil {
				return
			}
			r = readers.Get().(*bufio.Reader)
			r.Reset(io.MultiReader(bytes.NewReader(one), c))
			w = writers.Get().(*bufio.Writer)
			w.Reset(c)
		}
		var err error
		args, err = readCommand(r, args)
		if err != nil {
			var pe protoErr
			if errors.As(err, &pe) {
				writeErr(w, "ERR Protocol error: "+string(pe))
				w.Flush()
			}
			return
		}
		if len(args) > 0 && execute(args, w) {
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
			// Everything read is answered: give the buffers back while idle.
			r.Reset(nil)
			readers.Put(r)
			w.Reset(nil)
			writers.Put(w)
			r, w = nil, nil
		}
	}
}

func main() {
	addr := "127.0.0.1:6380"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	for i := range store {
		store[i].m = make(map[string]*value)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "resp:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "resp: listening on", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "resp: accept:", err)
			continue
		}
		go serve(c)
	}
}
