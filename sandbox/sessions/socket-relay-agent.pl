# The socket relay's agent, run by the server in the workstation as the student:
#   perl -e <this file> SOCKET_PATH WINDOW MAX_FRAME MAX_CHANNELS
# It listens on SOCKET_PATH and carries every connection accepted there over its own stdin and
# stdout to the server, which connects each to the session's proxy. Frame format, flow control
# and why: sandbox/sessions/socket-relay.ts. perl-base only (every Debian image has it).
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Socket qw(SOCK_STREAM SOMAXCONN);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);

use constant { READY => 0, OPEN => 1, DATA => 2, EOF_ => 3, CLOSE => 4, CREDIT => 5, HEADER => 9 };

my ($path, $window, $max_frame, $max_channels) = @ARGV;
$SIG{PIPE} = 'IGNORE';

sub nonblocking {
  my $fh = shift;
  my $flags = fcntl($fh, F_GETFL, 0) or die "socket relay agent: fcntl: $!\n";
  fcntl($fh, F_SETFL, $flags | O_NONBLOCK) or die "socket relay agent: fcntl: $!\n";
}
sub again { return $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR }

# A stale socket (an earlier agent's) is replaced; created 0600 from the start.
umask 077;
unlink $path;
my $listener = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => SOMAXCONN)
  or die "socket relay agent: cannot listen on $path: $!\n";
chmod 0600, $path;
nonblocking($listener);
nonblocking(\*STDIN);
nonblocking(\*STDOUT);
binmode STDIN;
binmode STDOUT;

my $to_server = '';    # frames waiting for stdout
my $from_server = '';  # stdin bytes not yet a whole frame
my $next_id = 1;
# id => { sock, out (bytes for the client), credit (bytes we may still send the server),
#         reading (the client has not said EOF), shut (EOF passed on), eof, close (from the server) }
my %channels;

sub frame {
  my ($id, $type, $payload) = @_;
  $payload = '' unless defined $payload;
  $to_server .= pack('NCN', $id, $type, length $payload) . $payload;
}

sub drop {
  my ($id, $tell) = @_;
  my $c = delete $channels{$id} or return;
  close $c->{sock};
  frame($id, CLOSE) if $tell;
}

# What the channel's state calls for once its pending output is written.
sub settle {
  my $id = shift;
  my $c = $channels{$id} or return;
  return if length $c->{out};
  if ($c->{close}) { drop($id, 0); return }
  if ($c->{eof} && !$c->{shut}) { shutdown($c->{sock}, 1); $c->{shut} = 1 }
  drop($id, 1) if $c->{shut} && !$c->{reading};
}

sub from_server {
  my $at = 0;    # whole frames are taken from $at on, and cut off once at the end
  while (length($from_server) - $at >= HEADER) {
    my ($id, $type, $len) = unpack('NCN', substr($from_server, $at, HEADER));
    last if length($from_server) - $at < HEADER + $len;
    my $payload = substr($from_server, $at + HEADER, $len);
    $at += HEADER + $len;
    my $c = $channels{$id} or next;
    if ($type == DATA) { $c->{out} .= $payload }
    elsif ($type == CREDIT) { $c->{credit} += unpack('N', $payload) }
    elsif ($type == EOF_) { $c->{eof} = 1 }
    elsif ($type == CLOSE) { $c->{close} = 1 }
    settle($id);
  }
  substr($from_server, 0, $at) = '';
}

frame(0, READY, pack('N', 1));

while (1) {
  my $read = IO::Select->new(\*STDIN);
  my $write = IO::Select->new;
  # Sockets are read only while the server has room for them (credit) and stdout keeps up.
  my $room = length($to_server) < $window;
  $read->add($listener) if $room && keys(%channels) < $max_channels;
  my %by_fd;
  for my $id (keys %channels) {
    my $c = $channels{$id};
    $by_fd{fileno $c->{sock}} = $id;
    $read->add($c->{sock}) if $room && $c->{reading} && $c->{credit} > 0;
    $write->add($c->{sock}) if length $c->{out};
  }
  $write->add(\*STDOUT) if length $to_server;
  my ($readable, $writable) = IO::Select->select($read, $write, undef);
  next unless defined $readable;

  for my $fh (@$readable) {
    if (fileno($fh) == 0) {
      my $n = sysread(STDIN, my $buf, 65536);
      if (defined $n) {
        exit 0 if $n == 0;    # the server is gone
        $from_server .= $buf;
        from_server();
      } elsif (!again()) { exit 0 }
    } elsif ($fh == $listener) {
      my $sock = $listener->accept or next;
      nonblocking($sock);
      my $id = $next_id++;
      $channels{$id} = { sock => $sock, out => '', credit => $window, reading => 1 };
      frame($id, OPEN);
    } else {
      my $id = $by_fd{fileno $fh};
      my $c = defined $id ? $channels{$id} : undef or next;
      my $want = $c->{credit} < $max_frame ? $c->{credit} : $max_frame;
      my $n = sysread($c->{sock}, my $buf, $want);
      if (!defined $n) { drop($id, 1) unless again() }
      elsif ($n == 0) { $c->{reading} = 0; frame($id, EOF_); settle($id) }
      else { $c->{credit} -= $n; frame($id, DATA, $buf) }
    }
  }

  for my $fh (@$writable) {
    if (fileno($fh) == 1) {
      my $n = syswrite(STDOUT, $to_server);
      if (defined $n) { substr($to_server, 0, $n) = '' }
      elsif (!again()) { exit 0 }
    } else {
      my $id = $by_fd{fileno $fh};
      my $c = defined $id ? $channels{$id} : undef or next;
      my $n = syswrite($c->{sock}, $c->{out});
      if (!defined $n) { drop($id, 1) unless again(); next }
      substr($c->{out}, 0, $n) = '';
      frame($id, CREDIT, pack('N', $n));
      settle($id);
    }
  }
}
