//go:build amd64 && !purego

#include "textflag.h"

// func maskAVX2(dst, src *byte, n int, key uint32)
// Requires n >= 32. Stores in the body are 32-byte aligned on dst.
TEXT ·maskAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	MOVL key+24(FP), AX

	// Head and tail vectors, loaded before the body overwrites anything.
	VMOVDQU (SI), Y1
	VMOVDQU -32(SI)(BX*1), Y2

	// Head key: as given.
	MOVQ         AX, X0
	VPBROADCASTD X0, Y0
	VPXOR        Y0, Y1, Y1

	// Tail key: the tail starts at n-32, so rotate right by 8*(n&3) bits.
	MOVQ         BX, CX
	ANDQ         $3, CX
	SHLQ         $3, CX
	MOVL         AX, DX
	RORL         CX, DX
	MOVQ         DX, X3
	VPBROADCASTD X3, Y3
	VPXOR        Y3, Y2, Y2

	// Body starts at the first 32-byte boundary of dst (offset 0..31, all
	// inside the head vector); rotate the key for that offset.
	MOVQ         DI, R9
	NEGQ         R9
	ANDQ         $31, R9
	MOVQ         R9, CX
	ANDQ         $3, CX
	SHLQ         $3, CX
	MOVL         AX, DX
	RORL         CX, DX
	MOVQ         DX, X4
	VPBROADCASTD X4, Y4

avx128:
	LEAQ    128(R9), R10
	CMPQ    R10, BX
	JA      avx32
	VPXOR   (SI)(R9*1), Y4, Y5
	VPXOR   32(SI)(R9*1), Y4, Y6
	VPXOR   64(SI)(R9*1), Y4, Y7
	VPXOR   96(SI)(R9*1), Y4, Y8
	VMOVDQA Y5, (DI)(R9*1)
	VMOVDQA Y6, 32(DI)(R9*1)
	VMOVDQA Y7, 64(DI)(R9*1)
	VMOVDQA Y8, 96(DI)(R9*1)
	MOVQ    R10, R9
	JMP     avx128

avx32:
	LEAQ    32(R9), R10
	CMPQ    R10, BX
	JA      avxdone
	VPXOR   (SI)(R9*1), Y4, Y5
	VMOVDQA Y5, (DI)(R9*1)
	MOVQ    R10, R9
	JMP     avx32

avxdone:
	// Fewer than 32 bytes remain past R9; the tail vector covers them.
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, -32(DI)(BX*1)
	VZEROUPPER
	RET

// func maskSSE2(dst, src *byte, n int, key uint32)
// Requires n >= 16. Stores in the body are 16-byte aligned on dst.
TEXT ·maskSSE2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	MOVL key+24(FP), AX

	MOVOU (SI), X1
	MOVOU -16(SI)(BX*1), X2

	MOVQ   AX, X0
	PSHUFD $0, X0, X0
	PXOR   X0, X1

	MOVQ   BX, CX
	ANDQ   $3, CX
	SHLQ   $3, CX
	MOVL   AX, DX
	RORL   CX, DX
	MOVQ   DX, X3
	PSHUFD $0, X3, X3
	PXOR   X3, X2

	MOVQ   DI, R9
	NEGQ   R9
	ANDQ   $15, R9
	MOVQ   R9, CX
	ANDQ   $3, CX
	SHLQ   $3, CX
	MOVL   AX, DX
	RORL   CX, DX
	MOVQ   DX, X4
	PSHUFD $0, X4, X4

sse64:
	LEAQ  64(R9), R10
	CMPQ  R10, BX
	JA    sse16
	MOVOU (SI)(R9*1), X5
	MOVOU 16(SI)(R9*1), X6
	MOVOU 32(SI)(R9*1), X7
	MOVOU 48(SI)(R9*1), X8
	PXOR  X4, X5
	PXOR  X4, X6
	PXOR  X4, X7
	PXOR  X4, X8
	MOVO  X5, (DI)(R9*1)
	MOVO  X6, 16(DI)(R9*1)
	MOVO  X7, 32(DI)(R9*1)
	MOVO  X8, 48(DI)(R9*1)
	MOVQ  R10, R9
	JMP   sse64

sse16:
	LEAQ  16(R9), R10
	CMPQ  R10, BX
	JA    ssedone
	MOVOU (SI)(R9*1), X5
	PXOR  X4, X5
	MOVO  X5, (DI)(R9*1)
	MOVQ  R10, R9
	JMP   sse16

ssedone:
	MOVOU X1, (DI)
	MOVOU X2, -16(DI)(BX*1)
	RET

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
// Only called after CPUID reported OSXSAVE, so XGETBV is available.
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
