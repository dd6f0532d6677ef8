# nativeshim.S — source of the machine code in native_amd64.go (linux/amd64).
# Assemble: as --64 -o x.o nativeshim.S && objcopy -O binary -j .text x.o x.bin
# TestNativeShimMatchesSource checks that the bytes embedded in Go match this file.
#
# Entry: argv[1] is the decimal number of the control socket fd. The shim reads the
# program block (see program.go) from it into the fixed buffer at BUF, relocates the
# offsets listed in the block, and runs the ops in order, each a raw system call.
# An error (unless the op says to ignore it, or tolerates that errno) writes
# {status, errno, step} (3 x int64) to the control fd and exits with status. An op may
# pass over the next ops (a count in its flags): after a tolerated error, or with
# opSkipOnOK after a success. The last op is execve.
        .intel_syntax noprefix
        .set BUF, 0x10000000
        .set CAP, 0x400000
        .text
        .globl _start
_start:
        mov     rsi, [rsp+16]           # argv[1]
        xor     edi, edi
1:      movzx   eax, byte ptr [rsi]
        test    eax, eax
        jz      2f
        imul    edi, edi, 10
        sub     eax, 48
        add     edi, eax
        inc     rsi
        jmp     1b
2:      mov     r12d, edi               # r12 = control fd
        movabs  r13, BUF                # r13 = block base
        xor     r14d, r14d              # r14 = bytes read
3:      xor     eax, eax                # read(r12, r13+r14, CAP-r14)
        mov     edi, r12d
        lea     rsi, [r13+r14]
        mov     edx, CAP
        sub     rdx, r14
        syscall
        test    rax, rax
        jle     fail
        add     r14, rax
        cmp     r14, 8
        jb      3b
        cmp     r14, [r13]
        jb      3b
        mov     rcx, [r13+16]           # relocation count
        mov     rbx, [r13+8]            # relocation table offset
        add     rbx, r13
4:      test    rcx, rcx
        jz      5f
        mov     rax, [rbx]
        add     [r13+rax], r13
        add     rbx, 8
        dec     rcx
        jmp     4b
5:      mov     rbx, [r13+24]           # ops offset
        add     rbx, r13
        mov     rbp, [r13+32]           # ops count
        xor     r15d, r15d              # saved result
6:      test    rbp, rbp
        jz      fail
        mov     rax, [rbx+64]           # flags
        test    al, 8
        jnz     listenpid
        mov     rdi, [rbx+8]
        test    al, 4
        cmovnz  rdi, r15
        mov     rsi, [rbx+16]
        mov     rdx, [rbx+24]
        mov     r10, [rbx+32]
        mov     r8, [rbx+40]
        mov     r9, [rbx+48]
        mov     rax, [rbx]
        syscall
        cmp     rax, -4095
        jae     err
        test    byte ptr [rbx+64], 2
        cmovnz  r15, rax
        test    byte ptr [rbx+64], 16   # opSkipOnOK
        jnz     skip
7:      add     rbx, 80
        dec     rbp
        jmp     6b
skip:   movzx   ecx, byte ptr [rbx+65]  # pass over the next (flags >> 8 & 0xff) ops
        sub     rbp, rcx
        imul    rcx, rcx, 80
        add     rbx, rcx
        jmp     7b
err:    test    byte ptr [rbx+64], 1
        jnz     7b
        neg     rax
        movzx   ecx, byte ptr [rbx+66]  # tolerated errnos
        cmp     rax, rcx
        je      tolerated
        movzx   ecx, byte ptr [rbx+67]
        cmp     rax, rcx
        je      tolerated
        mov     rdx, [rbx+56]           # status
        mov     [rsp-24], rdx
        mov     [rsp-16], rax           # errno
        mov     rdx, [rbx+72]           # step
        mov     [rsp-8], rdx
        mov     eax, 1                  # write(r12, rsp-24, 24)
        mov     edi, r12d
        lea     rsi, [rsp-24]
        mov     edx, 24
        syscall
        mov     rdi, [rbx+56]
        mov     eax, 231                # exit_group(status)
        syscall
tolerated:
        test    byte ptr [rbx+64], 16   # opSkipOnOK: go on with the next op
        jnz     7b
        jmp     skip
listenpid:
        mov     eax, 39                 # getpid
        syscall
        mov     rdi, [rbx+8]            # destination slot
        lea     rsi, [rsp-8]
        mov     r8, rsi
        mov     ecx, 10
8:      xor     edx, edx
        div     rcx
        add     dl, 48
        dec     rsi
        mov     [rsi], dl
        test    rax, rax
        jnz     8b
9:      mov     al, [rsi]
        mov     [rdi], al
        inc     rsi
        inc     rdi
        cmp     rsi, r8
        jb      9b
        mov     byte ptr [rdi], 0
        jmp     7b
fail:   mov     edi, 255                # short block or ops fell through
        mov     eax, 231
        syscall
