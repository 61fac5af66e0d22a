//! The few rtnetlink requests netDevices needs (rtnetlink(7)), encoded by hand: a link by name,
//! its addresses, moving (and renaming) it into another network namespace, adding an address and
//! bringing a link up. Safe code over nix's netlink socket; no async runtime, no dependency.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send, socket,
};
use std::os::fd::{AsRawFd, OwnedFd};

// linux/rtnetlink.h, netlink.h, if_link.h, if_addr.h.
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_MULTI: u16 = 2;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_F_PERMANENT: u8 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 1;
const HDR: usize = 16;
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;

/// An address as the kernel reported it, kept to be added again elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Addr {
    pub family: u8,
    pub prefix_len: u8,
    pub scope: u8,
    pub flags: u8,
    pub index: u32,
    pub address: Vec<u8>,
    pub local: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
}

impl Addr {
    /// What a user configured: permanent and global (runc moves the same ones): link-local and
    /// autoconfigured addresses belong to the namespace the link was in.
    pub fn user_configured(&self) -> bool {
        self.flags & IFA_F_PERMANENT != 0 && self.scope == RT_SCOPE_UNIVERSE
    }

    pub fn display(&self) -> String {
        let text = match self.address.len() {
            4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(&self.address[..]).unwrap_or([0; 4]))
                .to_string(),
            16 => {
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&self.address[..]).unwrap_or([0; 16]))
                    .to_string()
            }
            _ => format!("{:?}", self.address),
        };
        format!("{text}/{}", self.prefix_len)
    }
}

/// A NETLINK_ROUTE socket, in the network namespace of the thread that opens it.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    pub fn open() -> Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .context("socket(AF_NETLINK, NETLINK_ROUTE)")?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).context("binding a netlink socket")?;
        Ok(Socket { fd, seq: 0 })
    }

    /// The index of the link called `name`.
    pub fn link_index(&mut self, name: &str) -> Result<u32> {
        let mut body = ifinfomsg(0, 0, 0);
        attr(&mut body, IFLA_IFNAME, &cstr(name));
        let replies = self.request(RTM_GETLINK, 0, &body)?;
        let msg = replies
            .first()
            .filter(|m| m.len() >= IFINFOMSG)
            .with_context(|| format!("no reply for link {name:?}"))?;
        Ok(u32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]))
    }

    /// Every address of the link `index`.
    pub fn addresses(&mut self, index: u32) -> Result<Vec<Addr>> {
        let body = vec![0u8; IFADDRMSG];
        let replies = self.request(RTM_GETADDR, NLM_F_DUMP, &body)?;
        let mut out = Vec::new();
        for m in replies {
            if let Some(a) = parse_addr(&m)
                && a.index == index
            {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Moves link `index` into the network namespace `netns`, named `name` there (one request,
    /// so that the name never clashes on either side).
    pub fn move_link(&mut self, index: u32, name: &str, netns: &OwnedFd) -> Result<()> {
        let mut body = ifinfomsg(index, 0, 0);
        attr(&mut body, IFLA_IFNAME, &cstr(name));
        attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(netns.as_raw_fd() as u32).to_ne_bytes(),
        );
        self.request(RTM_NEWLINK, NLM_F_ACK, &body).map(drop)
    }

    /// Adds `a` to link `index`.
    pub fn add_address(&mut self, index: u32, a: &Addr) -> Result<()> {
        let mut body = vec![a.family, a.prefix_len, 0, a.scope];
        body.extend_from_slice(&index.to_ne_bytes());
        attr(&mut body, IFA_ADDRESS, &a.address);
        attr(&mut body, IFA_LOCAL, a.local.as_ref().unwrap_or(&a.address));
        if let Some(b) = &a.broadcast {
            attr(&mut body, IFA_BROADCAST, b);
        }
        self.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &body)
            .map(drop)
    }

    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let body = ifinfomsg(index, IFF_UP, IFF_UP);
        self.request(RTM_NEWLINK, NLM_F_ACK, &body).map(drop)
    }

    /// Sends one request and returns the payloads of its replies, up to the end of a dump or
    /// the acknowledgement; an error reply becomes its errno.
    fn request(&mut self, typ: u16, flags: u16, body: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let seq = self.seq;
        let mut msg = Vec::with_capacity(HDR + body.len());
        msg.extend_from_slice(&((HDR + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&typ.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        send(
            self.fd.as_raw_fd(),
            &msg,
            nix::sys::socket::MsgFlags::empty(),
        )
        .context("sending a netlink request")?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(
                self.fd.as_raw_fd(),
                &mut buf,
                nix::sys::socket::MsgFlags::empty(),
            )
            .context("reading a netlink reply")?;
            let mut rest = &buf[..n];
            while rest.len() >= HDR {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if len < HDR || len > rest.len() {
                    bail!("malformed netlink reply");
                }
                let mtyp = u16::from_ne_bytes([rest[4], rest[5]]);
                let mflags = u16::from_ne_bytes([rest[6], rest[7]]);
                let mseq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                let payload = &rest[HDR..len];
                rest = &rest[align(len).min(rest.len())..];
                if mseq != seq {
                    continue;
                }
                match mtyp {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EPROTO);
                        if code == 0 {
                            return Ok(out);
                        }
                        return Err(Errno::from_raw(-code).into());
                    }
                    _ => {
                        out.push(payload.to_vec());
                        if !dump && mflags & NLM_F_MULTI == 0 && flags & NLM_F_ACK == 0 {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn ifinfomsg(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4]; // family AF_UNSPEC, pad, type
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

fn attr(buf: &mut Vec<u8>, typ: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align(buf.len()), 0);
}

/// An RTM_NEWADDR payload: ifaddrmsg, then its attributes.
fn parse_addr(m: &[u8]) -> Option<Addr> {
    if m.len() < IFADDRMSG {
        return None;
    }
    let mut a = Addr {
        family: m[0],
        prefix_len: m[1],
        flags: m[2],
        scope: m[3],
        index: u32::from_ne_bytes([m[4], m[5], m[6], m[7]]),
        address: Vec::new(),
        local: None,
        broadcast: None,
    };
    let mut rest = &m[IFADDRMSG..];
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let typ = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            break;
        }
        let data = rest[4..len].to_vec();
        match typ {
            IFA_ADDRESS => a.address = data,
            IFA_LOCAL => a.local = Some(data),
            IFA_BROADCAST => a.broadcast = Some(data),
            _ => {}
        }
        rest = &rest[align(len).min(rest.len())..];
    }
    (!a.address.is_empty()).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_addresses_parse_back() {
        let mut body = vec![2, 24, IFA_F_PERMANENT, 0];
        body.extend_from_slice(&7u32.to_ne_bytes());
        attr(&mut body, IFA_ADDRESS, &[10, 0, 0, 1]);
        attr(&mut body, IFA_LOCAL, &[10, 0, 0, 1]);
        attr(&mut body, 3, b"eth0\0"); // a label: 9 bytes, padded to 12
        attr(&mut body, IFA_BROADCAST, &[10, 0, 0, 255]);
        assert_eq!(body.len() % 4, 0);
        let a = parse_addr(&body).unwrap();
        assert_eq!(a.index, 7);
        assert_eq!(a.broadcast, Some(vec![10, 0, 0, 255]));
        assert!(a.user_configured());
        assert_eq!(a.display(), "10.0.0.1/24");
    }
}
