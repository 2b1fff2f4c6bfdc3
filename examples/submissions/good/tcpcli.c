/*
 * tcpcli - echo client (UNP tcpcliserv/tcpcli01.c + str_cli.c, libc only).
 *
 * usage: tcpcli <IPaddress>
 * Reads lines from stdin, sends each to port 9877, reads the echoed line
 * back and prints it.  Exits 0 on end of input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/types.h>
#include <sys/socket.h>

#define SERV_PORT 9877
#define MAXLINE 4096

static void error(const char *msg)
{
    perror(msg);
    exit(1);
}

static ssize_t writen(int fd, const void *vptr, size_t n)
{
    const char *ptr = vptr;
    size_t nleft = n;

    while (nleft > 0) {
        ssize_t nw = write(fd, ptr, nleft);
        if (nw < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        nleft -= (size_t)nw;
        ptr += nw;
    }
    return (ssize_t)n;
}

/* buffered byte reader (like UNP's my_read) */
static char rbuf[MAXLINE];
static ssize_t rcnt;
static char *rptr;

static ssize_t my_read(int fd, char *c)
{
    if (rcnt <= 0) {
again:
        if ((rcnt = read(fd, rbuf, sizeof(rbuf))) < 0) {
            if (errno == EINTR)
                goto again;
            return -1;
        } else if (rcnt == 0) {
            return 0;
        }
        rptr = rbuf;
    }
    rcnt--;
    *c = *rptr++;
    return 1;
}

/*
 * Read the server's reply to a chunk of `want' bytes: up to and including
 * the newline, or `want' bytes if the chunk sent had no newline (a line
 * longer than the buffer, or a last line without '\n').  Loops over partial
 * reads.  Returns the number of bytes stored (NUL-terminated), 0 on EOF.
 */
static ssize_t read_reply(int fd, char *buf, size_t want, int until_newline)
{
    size_t n = 0;
    char c;
    ssize_t rc;

    while (n < want) {
        if ((rc = my_read(fd, &c)) < 0)
            return -1;
        if (rc == 0)
            break;
        buf[n++] = c;
        if (until_newline && c == '\n')
            break;
    }
    buf[n] = 0;
    return (ssize_t)n;
}

static void str_cli(FILE *fp, int sockfd)
{
    char sendline[MAXLINE], recvline[MAXLINE + 1];
    size_t len;
    ssize_t n;

    while (fgets(sendline, MAXLINE, fp) != NULL) {
        len = strlen(sendline);
        if (len == 0)
            continue;
        if (writen(sockfd, sendline, len) < 0)
            error("write");
        if (sendline[len - 1] == '\n')
            n = read_reply(sockfd, recvline, MAXLINE, 1);   /* a whole line */
        else
            n = read_reply(sockfd, recvline, len, 0);       /* a piece of one */
        if (n < 0)
            error("read");
        if (n == 0) {
            fprintf(stderr, "str_cli: server terminated prematurely\n");
            exit(1);
        }
        if (fputs(recvline, stdout) == EOF)
            error("fputs");
    }
    if (ferror(fp))
        error("fgets");
}

int main(int argc, char *argv[])
{
    int sockfd;
    struct sockaddr_in servaddr;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <IPaddress>\n", argv[0]);
        exit(1);
    }

    if ((sockfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        error("socket");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_port = htons(SERV_PORT);
    if (inet_pton(AF_INET, argv[1], &servaddr.sin_addr) <= 0) {
        fprintf(stderr, "inet_pton error for %s\n", argv[1]);
        exit(1);
    }

    if (connect(sockfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) < 0)
        error("connect");

    str_cli(stdin, sockfd);     /* do it all */

    close(sockfd);
    exit(0);
}
