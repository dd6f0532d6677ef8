package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestShow(t *testing.T) {
	dir := t.TempDir()
	writeUnit(t, dir, "web.socket", "[Unit]\nDescription=Web socket\nDefaultDependencies=no\n[Socket]\nListenStream=/run/web.sk\nListenStream=127.0.0.1:20430\nBacklog=8\n")
	writeUnit(t, dir, "web.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/usr/bin/web -x\nTimeoutStartSec=infinity\nKillSignal=SIGINT\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"properties in systemctl's order, not -p's", []string{"-p", "Id,Listen", "-p", "Backlog", "web.socket"},
			"Backlog=8\nListen=/run/web.sk (Stream)\nListen=127.0.0.1:20430 (Stream)\nId=web.socket\n"},
		{"--property= and unknown names", []string{"--property=Id", "--property=NoSuchProperty", "web.service"}, "Id=web.service\n"},
		{"empty values shown when asked", []string{"-p", "PIDFile,User,Type", "web"}, "Type=simple\nPIDFile=\nUser=\n"},
		{"--value", []string{"-p", "Id,ExecStart", "--value", "web.service", "web.socket"},
			"{ path=/usr/bin/web ; argv[]=/usr/bin/web -x ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\nweb.service\n\nweb.socket\n"},
		{"-P", []string{"-P", "TimeoutStartUSec", "web.service"}, "infinity\n"},
		{"formats", []string{"-pKillSignal,TimeoutStopUSec,RestartUSec,Triggers", "web.service", "web.socket"},
			"RestartUSec=100ms\nTimeoutStopUSec=1min 30s\nKillSignal=2\nTriggers=\n\nKillSignal=15\nTriggers=web.service\n"},
		{"not found", []string{"-p", "Id,LoadState,LoadError", "nope.service"},
			"Id=nope.service\nLoadState=not-found\nLoadError=org.freedesktop.systemd1.NoSuchUnit \"Unit nope.service not found.\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, units := parseCtl(t, tc.args...)
			g.units = []string{dir}
			var out bytes.Buffer
			showUnits(&out, g, showOptionsOf(g, units))
			if out.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
}

func TestShowAllHidesEmpty(t *testing.T) {
	dir := t.TempDir()
	writeUnit(t, dir, "a.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n")
	g := &globals{units: []string{dir}}
	var def, all bytes.Buffer
	showUnits(&def, g, &showOptions{units: []string{"a.service"}})
	showUnits(&all, g, &showOptions{units: []string{"a.service"}, all: true})
	for _, l := range strings.Split(strings.TrimSpace(def.String()), "\n") {
		if strings.HasSuffix(l, "=") || l == "FailureActionExitStatus=[not set]" {
			t.Errorf("show without --all printed %q", l)
		}
	}
	for _, want := range []string{"PIDFile=\n", "FailureActionExitStatus=[not set]\n", "Id=a.service\n", "FragmentPath=" + filepath.Join(dir, "a.service") + "\n"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("show --all lacks %q", want)
		}
	}
	if !strings.Contains(def.String(), "Type=simple\n") {
		t.Errorf("show lacks Type=simple:\n%s", def.String())
	}
}

func TestShowArgs(t *testing.T) {
	g, units := parseCtl(t, "--", "-weird.service", "-p")
	if o := showOptionsOf(g, units); len(o.units) != 2 || o.units[0] != "-weird.service" || o.props != nil {
		t.Errorf("-- not honoured: %+v", o)
	}
	g, _ = parseCtl(t, "-p", "")
	if o := showOptionsOf(g, nil); o.props == nil || len(o.props) != 0 {
		t.Errorf("-p '' should select no property: %+v", o)
	}
}
