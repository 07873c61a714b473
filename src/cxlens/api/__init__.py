"""The HTTP face: routes parse, call one core function, render."""
