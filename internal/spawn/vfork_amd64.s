#include "textflag.h"

// func rawSpawn(ops, nops, report, stack, flags, tid, cargs uintptr) (pid, errno uintptr)
//
// With all signals blocked: clone3(cargs, 88) when cargs is not 0, else clone(flags, stack, 0,
// tid, 0) (startVfork: CLONE_VM|CLONE_CHILD_CLEARTID, clone3 adding CLONE_CLEAR_SIGHAND). The
// child runs on its own stack and never returns to Go: it interprets the ops (the same
// encoding as ShimMain; see program.go), and on a failing op stores {status,
// errno, step} at report and exits with status. The parent restores its signal mask and
// returns the child's pid.
TEXT ·rawSpawn(SB), NOSPLIT, $16-72
	MOVQ	$-1, AX
	MOVQ	AX, 0(SP)		// every signal
	MOVQ	$14, AX			// rt_sigprocmask(SIG_SETMASK, all, &old, 8)
	MOVQ	$2, DI
	LEAQ	0(SP), SI
	LEAQ	8(SP), DX
	MOVQ	$8, R10
	SYSCALL
	MOVQ	ops+0(FP), R12
	MOVQ	nops+8(FP), R13
	MOVQ	report+16(FP), BX
	MOVQ	cargs+48(FP), DI
	TESTQ	DI, DI
	JEQ	classic
	MOVQ	$435, AX		// clone3(cargs, 88)
	MOVQ	$88, SI
	SYSCALL
	JMP	cloned
classic:
	MOVQ	flags+32(FP), DI
	MOVQ	$56, AX			// clone(flags, stack, 0, tid, 0)
	MOVQ	stack+24(FP), SI
	XORQ	DX, DX
	MOVQ	tid+40(FP), R10
	XORQ	R8, R8
	SYSCALL
cloned:
	CMPQ	AX, $0
	JEQ	child
	MOVQ	AX, R12
	MOVQ	$14, AX			// rt_sigprocmask(SIG_SETMASK, &old, NULL, 8)
	MOVQ	$2, DI
	LEAQ	8(SP), SI
	XORQ	DX, DX
	MOVQ	$8, R10
	SYSCALL
	CMPQ	R12, $-4095
	JCC	failed
	MOVQ	R12, pid+56(FP)
	MOVQ	$0, errno+64(FP)
	RET
failed:
	NEGQ	R12
	MOVQ	$0, pid+56(FP)
	MOVQ	R12, errno+64(FP)
	RET

child:
	XORQ	R15, R15		// saved result
loop:
	TESTQ	R13, R13
	JEQ	done
	MOVQ	64(R12), AX		// flags
	TESTQ	$8, AX
	JNE	listenpid
	MOVQ	8(R12), DI
	TESTQ	$4, AX
	CMOVQNE	R15, DI
	MOVQ	16(R12), SI
	TESTQ	$64, AX			// opUseSaved1
	CMOVQNE	R15, SI
	MOVQ	24(R12), DX
	MOVQ	32(R12), R10
	MOVQ	40(R12), R8
	MOVQ	48(R12), R9
	MOVQ	0(R12), AX
	SYSCALL
	CMPQ	AX, $-4095
	JCC	err
	MOVQ	64(R12), CX
	TESTQ	$2, CX
	CMOVQNE	AX, R15
	TESTQ	$16, CX		// opSkipOnOK
	JNE	skip
next:
	ADDQ	$80, R12
	DECQ	R13
	JMP	loop
skip:				// pass over the next (flags >> 8 & 0xff) ops
	MOVBQZX	65(R12), CX
	SUBQ	CX, R13
	LEAQ	(CX)(CX*4), CX
	SHLQ	$4, CX
	ADDQ	CX, R12
	JMP	next
err:
	MOVQ	64(R12), CX
	TESTQ	$1, CX
	JNE	next
	NEGQ	AX
	MOVBQZX	66(R12), DX	// tolerated errnos
	CMPQ	AX, DX
	JEQ	tolerated
	MOVBQZX	67(R12), DX
	CMPQ	AX, DX
	JEQ	tolerated
	MOVBQZX	68(R12), DX
	CMPQ	AX, DX
	JEQ	tolerated
	MOVBQZX	69(R12), DX
	CMPQ	AX, DX
	JEQ	tolerated
	MOVQ	56(R12), CX
	MOVQ	CX, 0(BX)
	MOVQ	AX, 8(BX)
	MOVQ	72(R12), CX
	MOVQ	CX, 16(BX)
	MOVQ	56(R12), DI
	MOVQ	$60, AX			// exit(status)
	SYSCALL
tolerated:
	TESTQ	$16, CX			// opSkipOnOK: go on with the next op
	JNE	next
	JMP	skip
listenpid:
	MOVQ	$39, AX			// getpid
	SYSCALL
	MOVQ	8(R12), DI		// destination
	MOVQ	SP, SI
	SUBQ	$8, SI
	MOVQ	SI, R8
	MOVQ	$10, CX
digit:
	XORQ	DX, DX
	DIVQ	CX
	ADDB	$48, DL
	DECQ	SI
	MOVB	DL, 0(SI)
	TESTQ	AX, AX
	JNE	digit
copy:
	MOVB	0(SI), AL
	MOVB	AL, 0(DI)
	INCQ	SI
	INCQ	DI
	CMPQ	SI, R8
	JCS	copy
	MOVB	$0, 0(DI)
	JMP	next
done:
	MOVQ	$255, DI
	MOVQ	$60, AX
	SYSCALL
