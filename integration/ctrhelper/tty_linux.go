package main

import "golang.org/x/sys/unix"

const tiocgwinsz = unix.TIOCGWINSZ
