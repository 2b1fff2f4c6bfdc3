/*
 * FTClientIter - Lab 3 practice 4, requirement 3: iterative file transfer.
 *
 * usage: FTClientIter <server IP> <port>
 * Prompts "File (SRC DST, or quit): " and reads two words (scanf "%255s").
 * For each pair it opens a new connection, sends SRC and stores the received
 * 260-byte segments' data in DST, exactly as FTClient does.  Ends at end of
 * input or when SRC is "quit".
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

/* one transfer over a new connection: returns 0 on success, -1 on failure */
static int transfer(const struct sockaddr_in *servaddr, const char *src, const char *dst)
{
    int sockfd, filefd, ret = 0;
    ssize_t len;
    file_segment segment;

    if ((sockfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        error("socket");
    if (connect(sockfd, (const struct sockaddr *)servaddr, sizeof(*servaddr)) == -1)
        error("connect");

    if ((filefd = open(dst, O_CREAT | O_WRONLY | O_TRUNC, 0644)) == -1) {
        fprintf(stderr, "file open() error: %s: %s\n", dst, strerror(errno));
        close(sockfd);
        return -1;
    }

    /* send the source path */
    if (writen(sockfd, src, strlen(src)) == -1)
        error("write");

    /* receive whole segments until the server closes */
    while ((len = readn(sockfd, &segment, sizeof(segment))) == sizeof(segment)) {
        if (segment.len < 0 || segment.len > BUFSIZE) {
            fprintf(stderr, "bad segment length %d\n", segment.len);
            ret = -1;
            break;
        }
        if (writen(filefd, segment.buf, segment.len) == -1)
            error("file write() error");
    }
    if (len == -1) {
        perror("read");
        ret = -1;
    } else if (len > 0 && len < (ssize_t)sizeof(segment)) {
        fprintf(stderr, "incomplete segment from server (%zd of %zu bytes)\n",
                len, sizeof(segment));
        ret = -1;
    }

    if (close(filefd) == -1)
        error("file close() error");
    close(sockfd);
    return ret;
}

int main(int argc, char *argv[])
{
    struct sockaddr_in servaddr;
    char src[256], dst[256];

    if (argc != 3) {
        fprintf(stderr, "usage: %s <server IP> <port>\n", argv[0]);
        exit(1);
    }

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[1], &servaddr.sin_addr) != 1) {
        fprintf(stderr, "invalid server address: %s\n", argv[1]);
        exit(1);
    }
    servaddr.sin_port = htons(atoi(argv[2]));

    for (;;) {
        printf("File (SRC DST, or quit): ");
        fflush(stdout);
        /* read SRC alone first so that "quit" alone on a line ends at once */
        if (scanf("%255s", src) != 1)
            break;
        if (strcmp(src, "quit") == 0)
            break;
        if (scanf("%255s", dst) != 1)
            break;
        transfer(&servaddr, src, dst);
    }

    return 0;
}
