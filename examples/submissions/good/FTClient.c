/*
 * FTClient - Lab 3 practice 4 (handout skeleton, blanks filled in).
 *
 * usage: FTClient <server IP> <port> <src path> <dst path>
 * Sends the source path (its bytes, no terminator), then receives whole
 * 260-byte file_segment structs -- looping over short reads -- and writes
 * segment.len bytes of each to the destination file until the server closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>

#define BUFSIZE 256

typedef struct file_segment {
    int len;
    char buf[BUFSIZE];
} file_segment;

void error(char *msg)
{
    perror(msg);
    exit(1);
}

/* read exactly n bytes; returns n, fewer at EOF, or -1 on error */
static ssize_t readn(int fd, void *vptr, size_t n)
{
    char *ptr = vptr;
    size_t nleft = n;

    while (nleft > 0) {
        ssize_t nr = read(fd, ptr, nleft);
        if (nr < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (nr == 0)
            break;              /* EOF */
        nleft -= (size_t)nr;
        ptr += nr;
    }
    return (ssize_t)(n - nleft);
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

int main(int argc, char *argv[])
{
    int sockfd, filefd;
    ssize_t len;
    struct sockaddr_in servaddr;
    file_segment segment;

    if (argc != 5) {
        fprintf(stderr, "usage: %s <server IP> <port> <src path> <dst path>\n", argv[0]);
        exit(1);
    }

    /* socket() */
    if ((sockfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        error("socket");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[1], &servaddr.sin_addr) != 1) {
        fprintf(stderr, "invalid server address: %s\n", argv[1]);
        exit(1);
    }
    servaddr.sin_port = htons(atoi(argv[2]));

    /* connect() */
    if (connect(sockfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) == -1)
        error("connect");

    if ((filefd = open(argv[4], O_CREAT | O_WRONLY | O_TRUNC, 0644)) == -1)
        error("file open() error");

    /* write file path (argv[3]) to server */
    if (writen(sockfd, argv[3], strlen(argv[3])) == -1)
        error("write");

    /* read segments from server: loop until a whole struct has arrived */
    while ((len = readn(sockfd, &segment, sizeof(segment))) == sizeof(segment)) {
        if (segment.len < 0 || segment.len > BUFSIZE) {
            fprintf(stderr, "bad segment length %d\n", segment.len);
            exit(1);
        }
        /* write data to file */
        if (writen(filefd, segment.buf, segment.len) == -1)
            error("file write() error");
    }
    if (len == -1)
        error("read");
    if (len != 0) {
        fprintf(stderr, "incomplete segment from server (%zd of %zu bytes)\n",
                len, sizeof(segment));
        exit(1);
    }

    if (close(filefd) == -1)
        error("file close() error");
    close(sockfd);
    return 0;
}
