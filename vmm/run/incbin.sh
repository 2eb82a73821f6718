#!/bin/sh
# incbin.sh FILE OUT.S SYMBOL: an assembler source holding FILE's bytes
# between SYMBOL_start and SYMBOL_end, read-only.
set -eu
cat >"$2" <<EOS
	.section .rodata
	.balign 16
	.global $3_start
	.global $3_end
$3_start:
	.incbin "$1"
$3_end:
	.section .note.GNU-stack,"",@progbits
EOS
