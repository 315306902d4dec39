// Command echo is a TCP echo server with one goroutine per connection: the Go side of the
// echo scenario. Usage: `echo [ADDR]` or `echo -addr ADDR` (default 127.0.0.1:7000). It prints
// "listening: ADDR" once bound.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
)

// serve echoes with a plain read and write loop over a 16 KiB buffer, like the tokio and
// goroutines servers. Not io.Copy: between two TCP connections it splices through a pipe, and
// the two pipe fds per connection would take 30,000 fds at 10,000 connections.
func serve(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 16*1024)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "address to listen on")
	flag.Parse()
	if flag.NArg() > 0 {
		*addr = flag.Arg(0)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening: %s\n", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(conn)
	}
}
