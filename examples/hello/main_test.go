package main

// Example_main runs the program: the README shows it, and
// TestReadmeProgram (in the repository's root) checks that the README's
// copy is this file.
func Example_main() {
	main()
	// Output:
	// echoed: Hello, WebSocket
	// closed: 1000 (normal closure)
}
