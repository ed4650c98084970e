#!/usr/bin/env bats
# packaging/systemd/install-units: the names and paths it takes, refused before any unit is
# written when a unit could not name them safely; the folders it names and their warnings.
load test_helper

UNITS="$TOP/packaging/systemd/install-units"

# units ARGS...: install-units --user with the venv's tools and units into $SANDBOX/units.
units() {
  "$UNITS" --user --bindir "$VENV_BIN" --dest "$SANDBOX/units" "$@"
}

@test "a cluster name with .., @, a slash or nothing plain in it is refused; nothing is written" {
  for name in .. . ../etc a/b 'a@b' '@' -x 'a b' '' "$(printf 'a%.0s' {1..65})"; do
    run --separate-stderr units --root "$SANDBOX/root" --cluster "$name"
    [ "$status" -eq 2 ]
    [[ "$stderr" == "install-units: refusing cluster name '$name': "* ]]
    [ ! -e "$SANDBOX/units" ]
  done
}

@test "the clusters named are the timers it says to start" {
  run --separate-stderr units --root "$SANDBOX/root" --cluster hammer --cluster gpu.2
  [ "$status" -eq 0 ]
  [[ "$output" == *"  systemctl --user enable --now sb-poll@hammer.timer sb-poll@gpu.2.timer"$'\n'* ]]
  [ -f "$SANDBOX/units/sb-poll@.service" ]
}

@test "a path with a . or .. part is refused" {
  for root in /depot/../etc /depot/./sb /depot/sb/.. ; do
    run --separate-stderr units --root "$root"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--root must not have a . or .. part (got '$root')"* ]]
  done
  run --separate-stderr units --root "$SANDBOX/root" --site "$SANDBOX/www/../root/x"
  [ "$status" -eq 2 ]
  [ ! -e "$SANDBOX/units" ]
}

@test "a path holding a @NAME@ placeholder of the templates is refused: a later one would fill it in" {
  # every placeholder the templates hold, so one added later is covered by this test too
  mapfile -t placeholders < <(grep -oh '@[A-Z_]*@' "$TOP"/packaging/systemd/*.in | sort -u)
  [ "${#placeholders[@]}" -ge 6 ]
  mkdir -p "$SANDBOX/www"
  for placeholder in "${placeholders[@]}"; do
    for option in --root --site --bindir --dest; do
      root="$SANDBOX/root" site="$SANDBOX/www/hiscores" more=()
      case "$option" in
        --root) root="/$placeholder"; value="$root" ;;
        --site) site="$SANDBOX/www/$placeholder"; value="$site" ;;
        *) value="$SANDBOX/x$placeholder/y"; more=("$option" "$value") ;;
      esac
      args=(--root "$root" --site "$site" "${more[@]}")
      run --separate-stderr "$UNITS" --user --bindir "$VENV_BIN" --dest "$SANDBOX/units" "${args[@]}"
      [ "$status" -eq 2 ]
      [ "$stderr" = "install-units: $option must not hold a @NAME@ placeholder of the unit templates (got '$value')" ]
      [ ! -e "$SANDBOX/units" ]
      [ ! -e "$SANDBOX/x$placeholder" ]
    done
  done
  run --separate-stderr units --root "$SANDBOX/root" --site "$SANDBOX/www/hiscores"
  [ "$status" -eq 0 ]
  run grep -l '@[A-Z_]*@' "$SANDBOX"/units/*
  [ "$status" -eq 1 ]
  grep -qx "ReadWritePaths=$SANDBOX/root" "$SANDBOX/units/sb-poll@.service"
}

@test "a site whose folder is /, the root's parent or above it is refused" {
  mkdir -p "$SANDBOX/depot/sb/root"
  for site in /hiscores "$SANDBOX/depot/sb/hiscores" "$SANDBOX/depot/hiscores"; do
    run --separate-stderr units --root "$SANDBOX/depot/sb/root" --site "$site"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--site's folder ("*") holds the root"* ]]
  done
  [ ! -e "$SANDBOX/units" ]
}

@test "paths are compared as real paths: a symlink into the root or to its parent is seen through" {
  mkdir -p "$SANDBOX/depot/sb/root"
  ln -s "$SANDBOX/depot/sb/root" "$SANDBOX/alias"
  ln -s "$SANDBOX/depot/sb" "$SANDBOX/up"
  ln -s / "$SANDBOX/top"
  run --separate-stderr units --root "$SANDBOX/depot/sb/root" --site "$SANDBOX/alias/hiscores"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"--site must be outside the root"* ]]
  run --separate-stderr units --root "$SANDBOX/depot/sb/root" --site "$SANDBOX/up/hiscores"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"holds the root"* ]]
  run --separate-stderr units --root "$SANDBOX/top"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"--root must not be /"* ]]
  [ ! -e "$SANDBOX/units" ]
}

@test "folders the units name that do not exist yet are a warning, not a failure" {
  run --separate-stderr units --root "$SANDBOX/nope/root" --site "$SANDBOX/www/hiscores"
  [ "$status" -eq 0 ]
  missing=()
  for line in "${stderr_lines[@]}"; do [[ "$line" != *"does not exist"* ]] || missing+=("$line"); done
  [ "${#missing[@]}" -eq 2 ]
  [[ "${missing[0]}" == "install-units: warning: $SANDBOX/nope/root does not exist yet: the units fail until it does"* ]]
  [[ "${missing[1]}" == "install-units: warning: $SANDBOX/www does not exist yet"* ]]
  [ -f "$SANDBOX/units/sb-export.service" ]
  mkdir -p "$SANDBOX/nope/root" "$SANDBOX/www"
  run --separate-stderr units --root "$SANDBOX/nope/root" --site "$SANDBOX/www/hiscores"
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"does not exist"* ]]
}

@test "a root or site folder under /tmp or /var/tmp is a warning: PrivateTmp hides it from the service" {
  run --separate-stderr units --root /tmp/sb-root --site /var/tmp/www/hiscores
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"warning: /tmp/sb-root is under /tmp or /var/tmp: the units run with PrivateTmp=yes"* ]]
  [[ "$stderr" == *"warning: /var/tmp/www is under /tmp or /var/tmp"* ]]
  run --separate-stderr units --root /depot/sb-nope --site /srv/sb-nope/hiscores
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"PrivateTmp"* ]]
  [[ "$stderr" == *"/depot/sb-nope does not exist yet"* ]]
}

@test "a --dest systemd does not load units from is a warning, and the commands link the units first" {
  run --separate-stderr units --root /depot/sb-nope --site /srv/sb-nope/hiscores
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"warning: $SANDBOX/units is not a folder systemd loads units from"* ]]
  [[ "$output" == *"  systemctl --user link $SANDBOX/units/sb-poll@.service $SANDBOX/units/sb-poll@.timer $SANDBOX/units/sb-export.service $SANDBOX/units/sb-export.timer
  systemctl --user daemon-reload
"* ]]
  HOME="$SANDBOX/home" XDG_CONFIG_HOME="" run --separate-stderr "$UNITS" --user --bindir "$VENV_BIN" --root /depot/sb-nope
  [ "$status" -eq 0 ]
  [ -f "$SANDBOX/home/.config/systemd/user/sb-poll@.service" ]
  [[ "$stderr" != *"loads units from"* && "$output" != *" link "* ]]
  [[ "$output" == *"systemctl --user daemon-reload"* ]]
}

@test "--system names an account getent does not know: a warning; one it knows: none" {
  run --separate-stderr "$UNITS" --system sb-no-such-account --bindir "$VENV_BIN" --root /depot/sb-nope --dest "$SANDBOX/units"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"warning: there is no account sb-no-such-account (getent passwd)"* ]]
  grep -qx 'User=sb-no-such-account' "$SANDBOX/units/sb-poll@.service"
  known="$(id -un)"
  run --separate-stderr "$UNITS" --system "$known" --bindir "$VENV_BIN" --root /depot/sb-nope --dest "$SANDBOX/units"
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"no account"* ]]
  [[ "$output" == *"  systemctl link $SANDBOX/units/sb-poll@.service"* ]]
}
