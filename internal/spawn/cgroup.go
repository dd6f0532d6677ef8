package spawn

import "syscall"

// cgroup adds the steps that place the child in its unit's cgroup: for each hierarchy, open
// its cgroup.procs and write "0", which the kernel reads as the writing process itself (no
// pid needs formatting in the child). They come first, before the child can fork, so no
// process of the unit starts outside the group. Three system calls per hierarchy.
func (p *program) cgroup(c *Config) {
	files := c.CgroupProcs
	if c.CgroupDirProcs != "" && !(p.intoCgroup && c.CgroupDirFD > 0) {
		files = append([]string{c.CgroupDirProcs}, files...)
	}
	if len(files) == 0 {
		return
	}
	zero := p.cstring("0", 0)
	for _, f := range files {
		path := p.cstring(f, 0)
		p.add(stepCgroup, StatusCgroup, opSaveResult, syscall.SYS_OPENAT, atFDCWD, path, syscall.O_WRONLY|syscall.O_CLOEXEC)
		p.add(stepCgroup, StatusCgroup, opUseSaved, syscall.SYS_WRITE, 0, zero, 1)
		p.add(stepCgroup, StatusCgroup, opUseSaved|opIgnoreError, syscall.SYS_CLOSE, 0)
	}
}

// noIntoCgroup is set for good once the kernel refuses CLONE_INTO_CGROUP itself (under mode).
var noIntoCgroup bool

// withoutCgroupFD is c placing the child by writing CgroupDirProcs instead.
func withoutCgroupFD(c *Config) *Config {
	d := *c
	d.CgroupDirFD = 0
	return &d
}
