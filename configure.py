#!/bin/sh
# SPDX-License-Identifier: MIT
# The lines up to the closing quotes are shell: on a bare Debian machine they
# install python3 (as root) and then run this file as Python.
''':'
if ! command -v python3 >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "configure.py: installing python3" >&2
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >&2 || exit 1
	else
		echo "configure.py: python3 is missing; install it with: apt-get install python3" >&2
		exit 1
	fi
fi
exec python3 "$0" "$@"
'''
"""Generates build.ninja for procbuilder.

Finds its dependencies with pkg-config; as root on Debian it installs the
missing ones with apt-get, otherwise it prints the exact command and fails.
"""

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

SRC = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(SRC, 'misc'))
import ninja_syntax  # noqa: E402

BUILD = 'build'


def header_version():
    """The one version: PB_VERSION_MAJOR/MINOR/PATCH in include/procbuilder.h."""
    with open(os.path.join(SRC, 'include', 'procbuilder.h')) as f:
        text = f.read()
    parts = [re.search(r'#define PB_VERSION_%s (\d+)' % k, text) for k in ('MAJOR', 'MINOR', 'PATCH')]
    if not all(parts):
        sys.exit('configure.py: ERROR: include/procbuilder.h lacks PB_VERSION_MAJOR/MINOR/PATCH')
    return [int(m.group(1)) for m in parts]


VERSION_PARTS = header_version()
VERSION = '.'.join(str(v) for v in VERSION_PARTS)

# What we need, and the Debian package that brings it: to build the library
# and the CLI; then to test, fuzz and make the manual pages.
BUILD_TOOLS = [('ninja', 'ninja-build'), ('pkg-config', 'pkg-config')]
BUILD_MODULES = [('yaml-0.1', 'libyaml-dev'), ('libbsd', 'libbsd-dev')]
TEST_TOOLS = [('clang', 'clang'), ('musl-gcc', 'musl-tools'), ('busybox', 'busybox-static'), ('gdb', 'gdb'),
              ('help2man', 'help2man'), ('go-md2man', 'go-md2man'), ('lexgrog', 'man-db'), ('doxygen', 'doxygen'),
              ('make', 'make'), ('bc', 'bc'), ('setcap', 'libcap2-bin'), ('strace', 'strace')]
TEST_MODULES = [('criterion', 'libcriterion-dev')]
# Files the tests need that no tool or module check finds.
TEST_FILES = [('/usr/lib/x86_64-linux-gnu/libc.a', 'libc6-dev'),
              ('/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a', 'libclang-rt-14-dev'),
              ('/usr/lib/python3/dist-packages/jsonschema/__init__.py', 'python3-jsonschema')]


def die(msg):
    print('configure.py: ERROR: ' + msg, file=sys.stderr)
    sys.exit(1)


def pkg_config(*args):
    try:
        out = subprocess.run(['pkg-config'] + list(args), check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.split()


def missing_packages(tools, modules, files):
    missing = [pkg for tool, pkg in tools if not shutil.which(tool)]
    have_pkgconfig = shutil.which('pkg-config') is not None
    missing += [pkg for module, pkg in modules if not have_pkgconfig or pkg_config('--exists', module) is None]
    missing += [pkg for path, pkg in files if not os.path.exists(path)]
    return missing


def missing_for_build(cc):
    cc_prog = shlex.split(cc)[0]
    missing = [] if shutil.which(cc_prog) else ['clang' if 'clang' in cc_prog else 'gcc']
    return sorted(set(missing + missing_packages(BUILD_TOOLS, BUILD_MODULES, [])))


def missing_for_tests():
    return sorted(set(missing_packages(TEST_TOOLS, TEST_MODULES, TEST_FILES)))


def apt_install(missing):
    cmd = ['apt-get', 'install', '-y', '-qq'] + missing
    print('configure.py: installing ' + ' '.join(missing), file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    ok = subprocess.run(['apt-get', 'update', '-qq'], env=env).returncode == 0
    return ok and subprocess.run(cmd, env=env).returncode == 0


def ensure_dependencies(cc, may_install):
    """As root on Debian, installs what is missing; else fails for the build's
    needs and returns the apt-get line the tests still need (or None)."""
    missing = missing_for_build(cc) + missing_for_tests()
    if missing and may_install and os.geteuid() == 0 and shutil.which('apt-get'):
        if not apt_install(missing) or missing_for_build(cc):
            die('installing packages failed; run: apt-get install ' + ' '.join(missing))
    build = missing_for_build(cc)
    if build:
        die('missing packages: %s\n  install them with: apt-get install %s' % (' '.join(build), ' '.join(build)))
    tests = missing_for_tests()
    if not tests:
        return None
    line = 'apt-get install ' + ' '.join(tests)
    print('configure.py: the library and the CLI build; tests, fuzzing and manual pages need: ' + line,
          file=sys.stderr)
    return line


def read_deps(path):
    with open(path) as f:
        return [ln.split('#')[0].strip() for ln in f
                if ln.split('#')[0].strip()]


def sources(directory):
    return sorted(glob.glob(os.path.join(directory, '*.c')))


def check_stage_independence(stage_dir, deps):
    """A stage links core/ only and includes no other stage's header."""
    bad = [d for d in deps if d != 'core']
    if bad:
        die('%s/deps: a stage may depend on core only, not %s' % (stage_dir, bad))
    name = os.path.basename(stage_dir)
    for path in glob.glob(os.path.join(stage_dir, '*.[ch]')):
        with open(path) as f:
            for num, line in enumerate(f, 1):
                if line.startswith('#include "stages/') and \
                        not line.startswith('#include "stages/%s/' % name):
                    die('%s:%d: a stage must not include another stage: %s'
                        % (path, num, line.strip()))


# The installed headers whose PB_API declarations are the shared library's exports.
PUBLIC_HEADERS = ['include/procbuilder.h', 'include/procbuilder/stage.h']


def check_exports():
    """libprocbuilder.map lists exactly the functions the installed headers declare PB_API."""
    declared = set()
    for header in PUBLIC_HEADERS:
        with open(os.path.join(SRC, header)) as f:
            declared |= set(re.findall(r'^PB_API [^(]*?\b(pb_\w+)\(', f.read(), re.M))
    with open(os.path.join(SRC, 'libprocbuilder.map')) as f:
        listed = set(re.findall(r'^\s+(pb_\w+);', f.read(), re.M))
    if declared != listed:
        die('libprocbuilder.map and %s disagree: only declared %s, only listed %s'
            % (' + '.join(PUBLIC_HEADERS), sorted(declared - listed), sorted(listed - declared)))


def install_dirs(args):
    """Where `ninja install` puts things; the libdir is multiarch where the compiler says (Debian)."""
    prefix = args.prefix
    libdir = args.libdir
    if not libdir:
        try:
            arch = subprocess.run(shlex.split(args.cc) + ['-print-multiarch'], capture_output=True,
                                  text=True).stdout.strip()
        except OSError:
            arch = ''
        libdir = os.path.join(prefix, 'lib', arch) if arch else os.path.join(prefix, 'lib')
    datadir = args.datadir or os.path.join(prefix, 'share')
    return {'prefix': prefix, 'bindir': os.path.join(prefix, 'bin'), 'libdir': libdir,
            'includedir': os.path.join(prefix, 'include'), 'datadir': datadir,
            'pipelinedir': os.path.join(datadir, 'procbuilder', 'pipelines'),
            'exehelperdir': os.path.join(args.libexecdir or os.path.join(prefix, 'libexec'), 'procbuilder'),
            'mandir': args.mandir or os.path.join(datadir, 'man')}


# The manual pages: one per command from its --help (help2man), the pipeline
# file's from docs/pipeline.md (go-md2man): nothing written twice.
COMMANDS = [('', 'build a Linux process from the outside, stage by stage'),
            ('run', 'build a program from the outside and become it, or start it as a child'),
            ('plan', 'print the plan and initial stack for a program, creating nothing'),
            ('inspect', 'print the parsed ELF headers of a program'),
            ('stages', 'list the stages pipelines can name, with their options'),
            ('check', 'validate pipeline files')]


def man_pages(n, cli):
    """Rules and edges for build/man/*.{1,5}; returns their paths."""
    n.rule('man1', 'help2man --no-info --no-discard-stderr --include=docs/man/see-also.h2m '
           '--name="$desc1" --help-option="$sub --help" --version-option=--version -o $out.tmp $in && '
           'sed -e "s/^\\\\.TH PROCBUILDER /.TH $title /" -e "/^\\\\.SH NAME/{n;s/^procbuilder /$page /}" '
           '$out.tmp > $out && rm -f $out.tmp',  # no pipe: a failing help2man fails the build
           description='MAN $out')
    n.rule('man5', 'cat $in > $out.md && go-md2man -in $out.md -out $out && rm -f $out.md', description='MAN $out')
    pages = []
    for sub, desc in COMMANDS:
        page = 'procbuilder' + ('-' + sub if sub else '')
        pages += n.build(os.path.join(BUILD, 'man', page + '.1'), 'man1', cli,
                         implicit=['docs/man/see-also.h2m'],
                         variables={'sub': sub, 'desc1': desc, 'page': page, 'title': page.upper()})
    pages += n.build(os.path.join(BUILD, 'man', 'procbuilder-pipeline.5'), 'man5',
                     ['docs/man/pipeline-name.md', 'docs/pipeline.md'])
    # section 3 from the headers' own comments (doxygen): a page per group, a link page per function
    # and struct; not the pages of enum values, fields and macros, whose names are not ours alone
    out = os.path.join(BUILD, 'man3')
    n.rule('man3', 'rm -rf $out.d $out && mkdir -p $out.d $out && '
           'PB_VERSION=%s PB_MAN3_OUT=$out.d doxygen docs/man/Doxyfile && '
           'cp $out.d/man/man3/procbuilder_*.3 $out.d/man/man3/pb_[a-z]*.3 $out && rm -rf $out.d' % VERSION,
           description='MAN3 $out')
    pages += n.build(out, 'man3', ['docs/man/Doxyfile', 'docs/man/doc-comments.sed', 'include/procbuilder.h',
                                   'include/procbuilder/stage.h'])
    return pages


def install_rules(n, d, inputs, static, shared, preload, cli, pc, man, stub):
    """`ninja install` (DESTDIR honoured) and `ninja uninstall`, of the same list of files."""
    so = 'libprocbuilder.so.%d' % VERSION_PARTS[0]
    pipelines = sorted(glob.glob('pipelines/*.yaml'))
    into = os.path.join
    files = [(static, into(d['libdir'], os.path.basename(static)), 644), (shared, into(d['libdir'], so), 755),
             (preload, into(d['libdir'], 'libprocbuilder-spawn.so'), 755),
             ('include/procbuilder.h', into(d['includedir'], 'procbuilder.h'), 644),
             ('include/procbuilder/stage.h', into(d['includedir'], 'procbuilder', 'stage.h'), 644),
             (cli, into(d['bindir'], 'procbuilder'), 755),
             (pc, into(d['libdir'], 'pkgconfig', 'procbuilder.pc'), 644),
             ('misc/procbuilder.bash', into(d['datadir'], 'bash-completion', 'completions', 'procbuilder'), 644)] + \
        [(p, into(d['pipelinedir'], os.path.basename(p)), 644) for p in pipelines] + \
        [(m, into(d['mandir'], 'man' + m[-1], os.path.basename(m)), 644) for m in man if m[-2] == '.']
    man3 = [m for m in man if m[-2] != '.']  # build/man3, a directory of pages
    dirs = sorted({os.path.dirname(dst) for _, dst, _ in files})
    cmds = ['install -d ' + ' '.join('$$DESTDIR' + x for x in dirs)]
    cmds += ['install -m %d %s $$DESTDIR%s' % (mode, src, dst) for src, dst, mode in files]
    cmds += ['ln -sf %s $$DESTDIR%s/libprocbuilder.so' % (so, d['libdir'])]
    cmds += ['install -d $$DESTDIR%s && install -m 644 %s/*.3 $$DESTDIR%s/' % (into(d['mandir'], 'man3'), m,
                                                                         into(d['mandir'], 'man3')) for m in man3]
    # the exe helper: the stub at a fixed root-owned path and the empty ELF naming it, given its capability as root
    cmds += ['misc/install-exe-helper %s %s' % (stub, d['exehelperdir'])]
    n.build('install', 'run', inputs + pipelines + man + ['misc/procbuilder.bash', stub, 'misc/install-exe-helper'],
            variables={'cmd': ' && '.join(cmds), 'desc': 'INSTALL %s' % d['prefix']})
    installed = [dst for _, dst, _ in files] + [into(d['libdir'], 'libprocbuilder.so')] + \
        [into(d['exehelperdir'], f) for f in ('exe-helper', 'stub')]
    cmd = 'rm -f %s && rmdir --ignore-fail-on-non-empty %s' % (
        ' '.join('$$DESTDIR' + x for x in installed),
        ' '.join('$$DESTDIR' + x for x in (d['pipelinedir'], os.path.join(d['includedir'], 'procbuilder'),
                                           d['exehelperdir'])))
    for m in man3:
        cmd += ' && for f in %s/*.3; do rm -f "$$DESTDIR%s/$${f##*/}"; done' % (m, into(d['mandir'], 'man3'))
    n.build('uninstall', 'run', [], variables={'cmd': cmd, 'desc': 'UNINSTALL %s' % d['prefix']})


def install_from_release(n, args, env_flags):
    """A debug or ASan build installs a release build of itself (build/release), never its own objects."""
    sub = os.path.join(BUILD, 'release')
    argv = ['--mode=release', '--builddir=' + sub, '--output=' + os.path.join(sub, 'build.ninja'),
            '--no-install-deps', '--cc=' + args.cc, '--prefix=' + args.prefix]
    argv += ['--%s=%s' % (k, getattr(args, k)) for k in ('libdir', 'libexecdir', 'datadir', 'mandir')
             if getattr(args, k)]
    env = ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in env_flags.items() if v)
    for target in ('install', 'uninstall'):
        cmd = 'mkdir -p %s && env %s %s configure.py %s >/dev/null && ninja -f %s/build.ninja %s' % (
            sub, env, shlex.quote(sys.executable), ' '.join(shlex.quote(a) for a in argv), sub, target)
        n.build(target, 'run', [], variables={'cmd': cmd, 'desc': '%s (release build in %s)' % (target.upper(), sub)})


def main():
    ap = argparse.ArgumentParser(description='Generate build.ninja for procbuilder.')
    ap.add_argument('--cc', default=os.environ.get('CC', 'gcc'), help='C compiler (default: $CC or gcc)')
    ap.add_argument('--mode', choices=['debug', 'release', 'asan'], default='debug',
                    help='debug (-Werror), release (-O2) or asan (ASan+UBSan)')
    ap.add_argument('--prefix', default='/usr/local', help='install prefix')
    ap.add_argument('--libdir', help='libraries (default: PREFIX/lib/MULTIARCH where the compiler names one)')
    ap.add_argument('--libexecdir', help='the exe helper goes to LIBEXECDIR/procbuilder (default: PREFIX/libexec)')
    ap.add_argument('--datadir', help='data: pipelines go to DATADIR/procbuilder/pipelines (default: PREFIX/share)')
    ap.add_argument('--mandir', help='manual pages (default: DATADIR/man)')
    ap.add_argument('--builddir', default='build', help=argparse.SUPPRESS)  # install's release build
    ap.add_argument('--output', default='build.ninja', help=argparse.SUPPRESS)
    ap.add_argument('--no-install-deps', action='store_true',
                    help='never run apt-get; name missing packages and fail')
    args = ap.parse_args()
    global BUILD
    BUILD = args.builddir
    os.chdir(SRC)
    tests_missing = ensure_dependencies(args.cc, not args.no_install_deps)
    check_exports()

    yaml_cflags = pkg_config('--cflags', 'yaml-0.1')
    yaml_libs = pkg_config('--libs', 'yaml-0.1')
    bsd_cflags = pkg_config('--cflags', 'libbsd-overlay')
    bsd_libs = pkg_config('--libs', 'libbsd')
    bsd_static_libs = pkg_config('--static', '--libs', 'libbsd')
    crit_cflags = pkg_config('--cflags', 'criterion')
    crit_libs = pkg_config('--libs', 'criterion')

    cflags = ['-std=c11', '-D_GNU_SOURCE', '-fPIC', '-fvisibility=hidden',
              '-Wall', '-Wextra', '-Wshadow', '-Wno-unused-parameter',
              '-Wmissing-prototypes', '-I.', '-Iinclude', '-g']
    ldflags = []
    san = []
    if args.mode == 'debug':
        cflags += ['-O1', '-Werror']
    elif args.mode == 'release':
        cflags += ['-O2', '-DNDEBUG']
    else:
        san = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all',
               '-fno-omit-frame-pointer']
        cflags += ['-O1', '-Werror', '-DPB_ASAN=1'] + san
        ldflags += san
    cflags += (bsd_cflags or []) + (yaml_cflags or [])
    # a distribution's flags come last, so they win (hardening, -O levels)
    env_flags = {k: os.environ.get(k, '') for k in ('CPPFLAGS', 'CFLAGS', 'LDFLAGS')}
    cflags += shlex.split(env_flags['CPPFLAGS']) + shlex.split(env_flags['CFLAGS'])
    ldflags += shlex.split(env_flags['LDFLAGS'])
    libs = (yaml_libs or []) + (bsd_libs or [])
    dirs = install_dirs(args)
    cflags += ['-DPB_PIPELINE_DATADIR=\\"%s/procbuilder/pipelines\\"' % dirs['datadir']]
    cflags += ['-DPB_EXE_HELPER_PATH=\\"%s/exe-helper\\"' % dirs['exehelperdir']]

    # regenerating (build.ninja is older than configure.py) sees the same CC and flags
    configure_args = ' '.join(['%s=%s' % (k, shlex.quote(v)) for k, v in env_flags.items() if v] +
                              [shlex.quote(a) for a in sys.argv[1:]])
    os.makedirs(os.path.dirname(args.output) or '.', exist_ok=True)
    out = open(args.output + '.tmp', 'w')
    n = ninja_syntax.Writer(out)
    n.comment('Generated by configure.py %s; do not edit.' % configure_args)
    n.variable('ninja_required_version', '1.7')
    n.variable('builddir', BUILD)
    n.variable('cc', args.cc)
    n.variable('cflags', cflags)
    n.variable('ldflags', ldflags)
    n.variable('libs', libs)
    n.variable('configure_args', configure_args)
    n.newline()
    n.rule('cc', '$cc -MMD -MF $out.d $cflags $extra_cflags -c $in -o $out',
           description='CC $out', depfile='$out.d', deps='gcc')
    n.rule('ar', 'rm -f $out && ar crs $out $in', description='AR $out')
    # Programs export the library's API (only the PB_API symbols are visible
    # to export) so that a plugin they load binds to their copy: a plugin
    # carries none (procbuilder/stage.h).
    n.rule('link', "$cc $ldflags '-Wl,--export-dynamic-symbol=pb_*' -o $out $in $extra_libs $libs",
           description='LINK $out')
    n.rule('solink', '$cc $ldflags -shared -Wl,--version-script=libprocbuilder.map -Wl,-z,relro,-z,now '
           '-Wl,-soname,libprocbuilder.so.%d -o $out $in $libs' % VERSION_PARTS[0],
           description='SOLINK $out')
    n.rule('pcgen', "sed -e 's|@PREFIX@|$prefix|; s|@LIBDIR@|$libdir|; s|@VERSION@|$version|' $in > $out",
           description='GEN $out')
    n.rule('configure', 'env CC=%s %s configure.py $configure_args' % (shlex.quote(args.cc), shlex.quote(sys.executable)),
           description='CONFIGURE', generator=True)
    n.rule('run', '$cmd', description='$desc', pool='console')
    n.newline()

    def obj(src, extra=None):
        o = os.path.join(BUILD, os.path.splitext(src)[0] + '.o')
        return n.build(o, 'cc', src, variables={'extra_cflags': extra} if extra else None)

    def static_lib(name, srcs, extra=None):
        objs = []
        for s in srcs:
            objs += obj(s, extra)
        return n.build(os.path.join(BUILD, 'libpb_%s.a' % name), 'ar', objs), objs

    libraries = {}
    all_objs = []
    deps_files = []

    core_lib, core_objs = static_lib('core', sources('core'))
    libraries['core'] = core_lib
    all_objs += core_objs

    stage_names = []
    for stage_dir in sorted(glob.glob('stages/*/')):
        stage_dir = stage_dir.rstrip('/')
        deps_path = os.path.join(stage_dir, 'deps')
        if not os.path.exists(deps_path):
            continue
        deps_files.append(deps_path)
        check_stage_independence(stage_dir, read_deps(deps_path))
        name = os.path.basename(stage_dir)
        stage_names.append(name)
        lib, objs = static_lib(name, sources(stage_dir))
        libraries[name] = lib
        all_objs += objs

    # The stub: freestanding, never sanitized, embedded into the launch library.
    stub_cflags = ['-std=c11', '-I.', '-fPIE', '-ffreestanding',
                   '-fno-stack-protector', '-fno-builtin', '-mgeneral-regs-only', '-mno-red-zone',
                   '-fvisibility=hidden', '-O2', '-Wall', '-Wextra', '-Werror',
                   '-fcf-protection=none', '-fno-asynchronous-unwind-tables']
    stub_ldflags = ['-nostdlib', '-static-pie', '-Wl,--build-id=none', '-Wl,-z,noexecstack',
                    '-Wl,-z,noseparate-code']
    n.rule('stubcc', '$cc -MMD -MF $out.d %s -c $in -o $out' % ' '.join(stub_cflags),
           description='STUBCC $out', depfile='$out.d', deps='gcc')
    n.rule('stubld', '$cc %s $in -o $out' % ' '.join(stub_cflags + stub_ldflags), description='STUBLD $out')
    stub_objs = []
    for s in sorted(glob.glob('launch/stub/*.c')):
        stub_objs += n.build(os.path.join(BUILD, 'launch', 'stub-' + os.path.basename(s)[:-2] + '.o'),
                             'stubcc', s)
    stub = n.build(os.path.join(BUILD, 'launch', 'stub'), 'stubld', stub_objs)
    embed = n.build(os.path.join(BUILD, 'launch', 'stub_embed.o'), 'cc', 'launch/stub_embed.S',
                    implicit=stub,
                    variables={'extra_cflags': '-DPB_STUB_PATH=\\"%s\\"' % stub[0]})

    for comp in ['pipeline', 'launch']:
        if os.path.exists(os.path.join(comp, 'deps')):
            deps_files.append(os.path.join(comp, 'deps'))
            objs = []
            for s in sources(comp):
                objs += obj(s)
            if comp == 'launch':
                objs += embed
            libraries[comp] = n.build(os.path.join(BUILD, 'libpb_%s.a' % comp), 'ar', objs)
            all_objs += objs

    static = n.build(os.path.join(BUILD, 'libprocbuilder.a'), 'ar', all_objs)
    shared = n.build(os.path.join(BUILD, 'libprocbuilder.so'), 'solink', all_objs,
                     implicit='libprocbuilder.map')
    # The posix_spawn preload library: the library's objects and the interposers,
    # exporting only the interposed functions (preload/preload.map).
    n.rule('preloadlink', '$cc $ldflags -shared -Wl,--version-script=preload/preload.map -Wl,-z,relro,-z,now '
           '-o $out $in $libs', description='SOLINK $out')
    # It goes into other programs, so it is never sanitized: under --mode=asan
    # its objects are compiled again without the sanitizers (build/plain/).
    preload_srcs = sources('preload')
    if args.mode == 'asan':
        n.variable('plain_cflags', [f for f in cflags if f not in san and f != '-DPB_ASAN=1'])
        n.rule('ccplain', '$cc -MMD -MF $out.d $plain_cflags -c $in -o $out', description='CC $out',
               depfile='$out.d', deps='gcc')
        lib_srcs_all = sources('core') + [src for st in stage_names for src in sources('stages/' + st)] + \
            sources('pipeline') + sources('launch')
        preload_objs = embed[:]
        for src in preload_srcs + lib_srcs_all:
            preload_objs += n.build(os.path.join(BUILD, 'plain', os.path.splitext(src)[0] + '.o'), 'ccplain', src)
        preload_ldflags = [f for f in ldflags if f not in san]
    else:
        preload_objs = all_objs[:]
        for src in preload_srcs:
            preload_objs += obj(src)
        preload_ldflags = ldflags
    preload = n.build(os.path.join(BUILD, 'libprocbuilder-spawn.so'), 'preloadlink', preload_objs,
                      implicit='preload/preload.map', variables={'ldflags': preload_ldflags})
    # Stage plugins, built as an outside plugin is: against include/ alone
    # (procbuilder/stage.h), no copy of the library; what they call is
    # resolved when the program that loads them (which exports it) does.
    n.rule('plugin', '$cc -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -O2 -Wall -Wextra -Werror '
           '-Wno-unused-parameter -Iinclude -shared $ldflags -o $out $in', description='PLUGIN $out')
    plugins = []
    for ex_dir in sorted(glob.glob('examples/*/')):
        plugins += n.build(os.path.join(BUILD, 'examples', os.path.basename(ex_dir.rstrip('/')) + '.so'),
                           'plugin', sources(ex_dir.rstrip('/')), implicit=PUBLIC_HEADERS)
    # Plugins the tests load (one per source file), built the same way.
    for src in sources('tests/plugins'):
        plugins += n.build(os.path.join(BUILD, 'tests', 'plugins', os.path.basename(src)[:-2] + '.so'),
                           'plugin', src, implicit=PUBLIC_HEADERS)
    cli = []
    for s in sources('cli'):
        cli += obj(s)
    # The CLI takes libyaml and libbsd (with libmd) in statically: three fewer
    # shared objects for ld.so to map and relocate at every start (bench/: a
    # no-op C program with the three costs 1.31x one without; the CLI must be
    # a cheap first step of an exec chain). libc stays shared, for plugins.
    # -z now: no lazy binding, whose resolver saves the whole xsave area on
    # the stack (the CLI must run with a 16 KiB stack; it segfaulted there).
    cli_libs = ['-Wl,-Bstatic'] + (yaml_libs or []) + (bsd_static_libs or []) + ['-Wl,-Bdynamic', '-Wl,-z,now']
    cli_bin = n.build(os.path.join(BUILD, 'procbuilder'), 'link', cli + static, variables={'libs': cli_libs})
    # pblaunch: the library path for the signal stress tests (tests/helpers/sigstress.c).
    pblaunch = n.build(os.path.join(BUILD, 'tests', 'helpers', 'pblaunch'), 'link',
                       obj('tests/helpers/pblaunch.c') + static, variables={'libs': cli_libs})
    n.newline()

    # Helper programs the tests launch: never sanitized, three libc/link flavours.
    helpers = []
    n.rule('probecc', '$hcc -O1 -Wall -Werror $hflags $in -o $out', description='HELPER $out')
    n.rule('helpercc', '$hcc -O1 -Wall -Werror $hflags -Wl,-e,helper_entry $in -o $out',
           description='HELPER $out')
    for name, hcc, hflags in [('pbhelper-static', args.cc, '-static'),
                              ('pbhelper-static-pie', args.cc, '-static-pie -fPIE'),
                              ('pbhelper-musl', 'musl-gcc', '-static'),
                              ('pbhelper-dynamic', args.cc, '-pie -fPIE')]:
        helpers += n.build(os.path.join(BUILD, 'tests', 'helpers', name), 'helpercc',
                           'tests/helpers/pbhelper.c', variables={'hcc': hcc, 'hflags': hflags})
    # mapsprobe: the address space in main(), in the five layouts execve gives (issue 14).
    for name, hcc, hflags in [('mapsprobe-static', args.cc, '-static'),
                              ('mapsprobe-static-pie', args.cc, '-static-pie -fPIE'),
                              ('mapsprobe-musl', 'musl-gcc', '-static'),
                              ('mapsprobe-dynamic', args.cc, '-pie -fPIE -DPROBE_DLOPEN'),
                              ('mapsprobe-nopie', args.cc, '-no-pie -fno-PIE -DPROBE_DLOPEN')]:
        helpers += n.build(os.path.join(BUILD, 'tests', 'helpers', name), 'probecc',
                           'tests/helpers/mapsprobe.c', variables={'hcc': hcc, 'hflags': hflags})
    # sanprog: the sanitizers' runtimes in the layout the launch gives (issue 14); gcc has no MSan.
    n.rule('sanprog', '$hcc -O1 -g -fsanitize=$san -pthread $in -o $out', description='HELPER $out')
    for hcc, san in [('gcc', 'address'), ('gcc', 'thread'), ('clang', 'address'), ('clang', 'thread'),
                     ('clang', 'memory')]:
        helpers += n.build(os.path.join(BUILD, 'tests', 'helpers', 'sanprog-%s-%s' % (san, hcc)),
                           'sanprog', 'tests/helpers/sanprog.c', variables={'hcc': hcc, 'san': san})
    n.rule('asanprog', '$cc -O1 -g -fsanitize=address $in -o $out', description='HELPER $out')
    helpers += n.build(os.path.join(BUILD, 'tests', 'helpers', 'asanprog'), 'asanprog',
                       'tests/helpers/asanprog.c')
    # A program finding its library through $ORIGIN/../lib (ld.so reads /proc/self/exe for $ORIGIN).
    n.rule('originlib', '$cc -O1 -shared -fPIC $in -o $out', description='HELPER $out')
    n.rule('originprog', "$cc -O1 $in -o $out -L$libdir -lpborigin '-Wl,-rpath,$$ORIGIN/../lib'",
           description='HELPER $out')
    origin_dir = os.path.join(BUILD, 'tests', 'helpers', 'origin')
    origin_lib = n.build(os.path.join(origin_dir, 'lib', 'libpborigin.so'), 'originlib', 'tests/helpers/originlib.c')
    helpers += origin_lib
    helpers += n.build(os.path.join(origin_dir, 'bin', 'origin'), 'originprog', 'tests/helpers/origin.c',
                       implicit=origin_lib, variables={'libdir': os.path.join(origin_dir, 'lib')})
    # sigstress runs the launches it signals: a plain host program.
    n.rule('hostprog', '$cc -O1 -Wall -Werror $in -o $out', description='HELPER $out')
    helpers += n.build(os.path.join(BUILD, 'tests', 'helpers', 'sigstress'), 'hostprog',
                       'tests/helpers/sigstress.c')

    # Test helpers (tests/common) and one Criterion binary per suite.
    common_lib, _ = static_lib('testcommon', sources('tests/common'), extra=crit_cflags)
    libraries['common'] = common_lib
    test_bins = []
    for suite_dir in sorted(glob.glob('tests/*/')):
        suite_dir = suite_dir.rstrip('/')
        deps_path = os.path.join(suite_dir, 'deps')
        if not os.path.exists(deps_path):
            continue
        deps_files.append(deps_path)
        suite = os.path.basename(suite_dir)
        link = []
        for dep in read_deps(deps_path):
            if dep == 'procbuilder':
                link += static
            elif dep in libraries:
                link += libraries[dep]
            else:
                die('%s: unknown dependency %r' % (deps_path, dep))
        objs = []
        for s in sources(suite_dir):
            objs += obj(s, crit_cflags)
        test_bins += n.build(os.path.join(BUILD, 'tests', 'test_' + suite), 'link',
                             objs + link, variables={'extra_libs': crit_libs})
    n.newline()

    bench_objs = obj('bench/launch.c')
    bench = n.build(os.path.join(BUILD, 'bench', 'launch'), 'link', bench_objs + static)
    # The CLI benchmark and the programs it measures the CLI against.
    bench_progs = []
    for src in sources('bench/progs'):
        name = os.path.splitext(os.path.basename(src))[0]
        bench_progs += n.build(os.path.join(BUILD, 'bench', name), 'link', obj(src))
    bench_cli = n.build(os.path.join(BUILD, 'bench', 'cli'), 'link', obj('bench/cli.c'))
    n.build('bench', 'phony', bench + bench_cli + bench_progs + helpers + cli_bin)
    n.build('bench-run', 'run', bench, implicit=helpers,
            variables={'cmd': bench[0], 'desc': 'BENCH'})
    n.build('bench-cli', 'run', bench_cli, implicit=bench_progs + helpers + cli_bin,
            variables={'cmd': bench_cli[0], 'desc': 'BENCH'})
    # The preload library's real clients (ninja building this tree, make -j2 a small one), with and
    # without it: `client-test` checks the bytes and the trace (CI, once), `bench-client` the times.
    for target, how in (('client-test', 'test'), ('bench-client', 'bench')):
        n.build(target, 'run', ['tests/client/run'], implicit=preload,
                variables={'cmd': 'tests/client/run %s %s' % (how, preload[0]), 'desc': target.upper()})
    # Fuzzing (clang libFuzzer + ASan/UBSan): each target compiles the library's
    # sources itself; the corpora are made from real binaries and the test images.
    lib_srcs = sources('core') + [src for st in stage_names for src in sources('stages/' + st)] + \
        sources('pipeline')
    fuzz_flags = ('-std=c11 -D_GNU_SOURCE -g -O1 -I. -Iinclude -fsanitize=fuzzer,address,undefined '
                  '-fno-sanitize-recover=all %s' % ' '.join((bsd_cflags or []) + (yaml_cflags or [])))
    n.rule('fuzzcc', 'clang %s $in -o $out %s -ldl' % (fuzz_flags, ' '.join(libs)), description='FUZZ $out')
    fuzzers = []
    for src in sources('fuzz'):
        fuzzers += n.build(os.path.join(BUILD, 'fuzz', os.path.splitext(os.path.basename(src))[0]), 'fuzzcc',
                           [src] + lib_srcs)
    man = man_pages(n, cli_bin)
    if tests_missing:
        # only what needs those packages fails, and says which
        man = []
        for target in ('check', 'fuzz', 'fuzz-smoke', 'man'):
            n.build(target, 'run', [], variables={
                'cmd': 'echo "ninja %s needs: %s" >&2; exit 1' % (target, tests_missing), 'desc': 'MISSING'})
    else:
        n.build('fuzz', 'phony', fuzzers)
        n.build('fuzz-smoke', 'run', ['fuzz/smoke'] + fuzzers, implicit=helpers,
                variables={'cmd': 'fuzz/smoke 60 %s' % ' '.join(fuzzers), 'desc': 'FUZZ-SMOKE'})
        # (the preload library too: tests/spawn runs Python with it)
        n.build('check', 'run', ['tests/run-tests'] + test_bins,
                implicit=cli_bin + preload + pblaunch + helpers + plugins,
                variables={'cmd': 'tests/run-tests %s' % ' '.join(test_bins), 'desc': 'CHECK'})
        n.build('man', 'phony', man)

    pc = n.build(os.path.join(BUILD, 'procbuilder.pc'), 'pcgen', 'procbuilder.pc.in',
                 variables={'prefix': args.prefix, 'libdir': dirs['libdir'], 'version': VERSION})
    if args.mode == 'release':
        install_rules(n, dirs, static + shared + preload + cli_bin + pc, static[0], shared[0], preload[0], cli_bin[0],
                      pc[0], man, stub[0])
    else:
        install_from_release(n, args, env_flags)
    n.build('all', 'phony', static + shared + preload + cli_bin + plugins + man +
            ([] if tests_missing else test_bins + helpers + pblaunch))
    n.build(args.output, 'configure',
            implicit=['configure.py', 'misc/ninja_syntax.py'] + deps_files)
    # the library and the CLI; `ninja check` builds the tests
    n.default(static + shared + preload + cli_bin + plugins)
    out.close()
    os.replace(args.output + '.tmp', args.output)
    print('configure.py: wrote build.ninja (mode %s, cc %s, stages: %s)'
          % (args.mode, args.cc, ' '.join(stage_names)))


if __name__ == '__main__':
    main()
