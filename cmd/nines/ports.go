package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/nines-dev/nines/internal/demotarget"
)

// A command binds every port it needs before it starts its work, so a
// port another process holds fails at once and says what to change,
// instead of after the store is opened, the canaries have run or the
// demo's story has played against someone else's server.

// listen binds addr for the setting named what ("server.listen", "--listen").
// A taken port is an error that names the setting and the fix.
func listen(addr, what, fix string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	return nil, fmt.Errorf("%s %s: %s; %s", what, addr, listenCause(err), fix)
}

// listenCause is the system's reason a listen failed, without the
// "listen tcp addr:" that the caller's message already says.
func listenCause(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Error()
	}
	return err.Error()
}

// listenOrAny binds addr, or, when addr is taken and only a default, any
// free port on loopback. picked says the address moved.
func listenOrAny(addr string, isDefault bool, what, fix string) (ln net.Listener, picked bool, err error) {
	ln, err = listen(addr, what, fix)
	if err == nil || !isDefault {
		return ln, false, err
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, false, err
	}
	ln, anyErr := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if anyErr != nil {
		return nil, false, err
	}
	return ln, true, nil
}

// demoShop is the config's demo shop (demo.listen), started here or found
// already serving.
type demoShop struct {
	server *demotarget.Server // nil when another process serves it
}

func (d *demoShop) Close() {
	if d != nil && d.server != nil {
		d.server.Close()
	}
}

// openDemoShop starts the demo shop on addr. When the port is taken by a
// demo shop already (a `nines run` of the quickstart, say), the canaries
// probe that one: it is the same shop. Anything else on the port is an
// error.
func openDemoShop(ctx context.Context, addr string) (shop *demoShop, reused bool, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if demotarget.Answers(ctx, addr) {
			return &demoShop{}, true, nil
		}
		return nil, false, fmt.Errorf("demo.listen %s: %s, and what answers there is not the nines demo shop; "+
			"stop it, or set demo.listen and the canaries' URLs to a free port", addr, listenCause(err))
	}
	srv, err := demotarget.StartWith(demotarget.Config{Listener: ln})
	if err != nil {
		ln.Close()
		return nil, false, err
	}
	return &demoShop{server: srv}, false, nil
}
