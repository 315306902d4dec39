// Go programs for the scenarios Go's own test suites do not cover; see ../README.md.
// Standard library only, so building needs no network.
module goroutines.bench/go

go 1.22
