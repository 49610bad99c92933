package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// dialTimeout bounds how long dial keeps trying: the listener may be
// another container that is still starting.
const dialTimeout = 10 * time.Second

// listen accepts one TCP connection on addr, prints "listening ADDR"
// first, and answers the first line it reads with "echo: LINE".
func listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	check(err)
	fmt.Println("listening", ln.Addr())
	c, err := ln.Accept()
	check(err)
	defer c.Close()
	check(c.SetDeadline(time.Now().Add(dialTimeout)))
	line, err := bufio.NewReader(c).ReadString('\n')
	check(err)
	_, err = fmt.Fprintf(c, "echo: %s", line)
	check(err)
}

// dial connects to addr over TCP, retrying until dialTimeout, sends text
// ("hello" when empty) as a line and prints the line it gets back.
func dial(addr string, text []string) {
	msg := strings.Join(text, " ")
	if msg == "" {
		msg = "hello"
	}
	deadline := time.Now().Add(dialTimeout)
	var c net.Conn
	var err error
	for {
		c, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	check(err)
	defer c.Close()
	check(c.SetDeadline(time.Now().Add(dialTimeout)))
	_, err = fmt.Fprintln(c, msg)
	check(err)
	reply, err := bufio.NewReader(c).ReadString('\n')
	check(err)
	fmt.Print(reply)
}
